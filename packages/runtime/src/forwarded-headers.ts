/**
 * Which request and response headers a proxy passes on, in one place for the two proxies of the
 * entry point: runtime's proxy to an instance's socket (entry-proxy.ts) and a cluster node's
 * forward to the node that serves the plugin (core's cluster/entry-router.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * RFC 9110 §7.6.1 connection-specific headers, never forwarded; plus `expect`, which the front
 * server already answered (100-continue) and undici refuses to send.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/**
 * Raw header list (name, value, name, value…) without hop-by-hop headers, those named in
 * Connection and the client's own `x-forwarded-*` (the proxy sets those itself).
 */
export function forwardableRawHeaders(
  raw: readonly (string | Buffer)[],
  connection: string | string[] | undefined,
): string[] {
  const named = connection
    ? new Set(
        String(connection)
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean),
      )
    : undefined;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = typeof raw[i] === 'string' ? (raw[i] as string) : raw[i].toString('latin1');
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(name) || named?.has(name) || name.startsWith('x-forwarded-')) continue;
    const value = raw[i + 1];
    out.push(rawName, typeof value === 'string' ? value : value.toString('latin1'));
  }
  return out;
}

/** A copy of a parsed header object without hop-by-hop headers and without those in `alsoDrop`. */
export function forwardableHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  alsoDrop: readonly string[] = [],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name) && !alsoDrop.includes(name)) out[name] = value;
  return out;
}

/** The `x-forwarded-for` to send: the client's chain with the peer that reached us appended. */
export function appendForwardedFor(
  prior: string | string[] | undefined,
  remote: string | undefined,
): string | undefined {
  if (!remote) return undefined;
  return prior ? `${String(prior)}, ${remote}` : remote;
}
