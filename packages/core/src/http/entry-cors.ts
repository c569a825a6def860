/**
 * CORS for the plugin test entry points `/_p/<tenant>/<plugin>/…` (and the plugin admin pages
 * served under them).
 *
 * Why: the Admin shows a plugin's admin page in `<iframe sandbox="allow-scripts …">` WITHOUT
 * `allow-same-origin`, so the page cannot read the Admin's token from localStorage. Its origin is
 * therefore opaque, and its requests carry `Origin: null`; a page calling its own backend
 * (`fetch('../hello')`) is a cross-origin request that the browser only lets the page read when
 * the response says `Access-Control-Allow-Origin`.
 *
 * What is safe: the entry point is public (no auth hook, see auth-hook.ts) and core never sets
 * cookies (the Admin and the CLI use bearer tokens), so a cross-origin read of it gains nothing
 * that a plain `curl` does not. We still open it only as far as needed:
 *   - only requests whose `Origin` is `null` (sandboxed frames: the Admin's plugin pages) get
 *     `Access-Control-Allow-Origin: *`; other origins get no CORS header from core (a plugin that
 *     wants to serve them sets its own headers, which win over ours);
 *   - never `Access-Control-Allow-Credentials`: `*` makes the browser refuse credentialed reads;
 *   - preflights (OPTIONS with `Access-Control-Request-Method`) from `Origin: null` are answered
 *     by core (204), allowing the usual methods and the headers asked for; the plugin never sees them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const MAX_AGE_SECONDS = '600';

/** True when the request came from an opaque origin (a sandboxed iframe, e.g. the Admin's plugin pages). */
function fromOpaqueOrigin(req: IncomingMessage): boolean {
  return req.headers.origin === 'null';
}

/**
 * Adds the CORS headers for an entry point request to `res` (merged into whatever the proxy or
 * the admin page server writes later). Returns true when it answered the request itself (a
 * preflight): the caller must not proxy it.
 */
export function applyEntryCors(req: IncomingMessage, res: ServerResponse): boolean {
  if (!fromOpaqueOrigin(req)) return false;
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('vary', 'Origin');
  const preflightMethod = req.headers['access-control-request-method'];
  if (req.method !== 'OPTIONS' || !preflightMethod) return false;
  const askedHeaders = req.headers['access-control-request-headers'];
  res.writeHead(204, {
    'access-control-allow-methods': ALLOWED_METHODS,
    ...(askedHeaders ? { 'access-control-allow-headers': String(askedHeaders) } : {}),
    'access-control-max-age': MAX_AGE_SECONDS,
    'content-length': '0',
  });
  res.end();
  return true;
}
