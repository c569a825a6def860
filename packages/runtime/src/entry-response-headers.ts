/**
 * The entry point shares its host with the Admin (`/_p/…` beside `/admin/` and `/api/`). A page a
 * plugin serves there, opened in a tab, would run in the Admin's origin: read the Admin's API
 * token from localStorage and call the API as the signed-in admin, or register a service worker
 * over `/` that answers for the Admin from then on. So every entry point response — the plugin's,
 * its static admin pages, core's own answers — carries a CSP `sandbox` without
 * `allow-same-origin`: the page runs with an opaque origin, as in the Admin's sandboxed frame of
 * plugin pages (entry-cors.ts lets it call its own backend from there). A plugin may send its own
 * policy too: policies add up, so it can only narrow ours. Headers that act on the whole origin
 * are dropped.
 */

export const ENTRY_SANDBOX_POLICY =
  'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads';

/** Response headers of a plugin that would reach beyond its own pages, to the Admin's. */
const ORIGIN_WIDE: ReadonlySet<string> = new Set(['service-worker-allowed', 'clear-site-data']);

/**
 * A cookie a plugin sets, kept to the plugin's own entry point. Every tenant's plugins share the
 * host, and cookies are per host: `Path=/` (or another plugin's path, or a `Domain`) reached every
 * other plugin's pages — a plugin read the session cookies other tenants' plugins set for `/`, and
 * planted its own into theirs. The path becomes the plugin's prefix, `Domain` goes (host-only).
 * `__Host-` cookies require `Path=/`: they are dropped.
 */
export function scopeSetCookie(value: string, prefix: string): string | undefined {
  const [pair, ...attributes] = value.split(';');
  if (/^\s*__host-/i.test(pair)) return undefined;
  const kept = attributes.filter((a) => !/^\s*(path|domain)\s*(=|$)/i.test(a));
  return [pair, ...kept, ` Path=${prefix}`].join(';');
}

/**
 * A plugin's raw response headers (name, value, …) as the entry point sends them on; `prefix`
 * is the plugin's entry path (`/_p/<tenant>/<plugin>/`), which its cookies are kept to.
 */
export function entryResponseHeaders(raw: readonly string[], prefix?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (ORIGIN_WIDE.has(name)) continue;
    if (name === 'set-cookie' && prefix !== undefined) {
      const scoped = scopeSetCookie(raw[i + 1], prefix);
      if (scoped !== undefined) out.push(raw[i], scoped);
      continue;
    }
    out.push(raw[i], raw[i + 1]);
  }
  // In the list itself, not only set on the response before: a plugin's own policy in the list
  // would replace a header set beforehand (writeHead with a raw list), and ours would be gone.
  out.push('content-security-policy', ENTRY_SANDBOX_POLICY);
  return out;
}
