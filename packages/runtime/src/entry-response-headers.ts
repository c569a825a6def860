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

/** A plugin's raw response headers (name, value, …) as the entry point sends them on. */
export function entryResponseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (!ORIGIN_WIDE.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  // In the list itself, not only set on the response before: a plugin's own policy in the list
  // would replace a header set beforehand (writeHead with a raw list), and ours would be gone.
  out.push('content-security-policy', ENTRY_SANDBOX_POLICY);
  return out;
}
