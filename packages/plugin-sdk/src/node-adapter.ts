/**
 * Serving plugins from a plain `node:http` server: what the runner uses, and what an author can
 * use to run a plugin locally (`http.createServer(nodeHandler(plugin, ctx))`).
 *
 * Route-style plugins are served without building a standard Request/Response unless the handler
 * asks for one (`req.request`) or returns one: that keeps a cold plugin's first request (its
 * health check) from loading the fetch machinery.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { PluginContext } from './context.ts';
import { compileRoutes, noRouteBody, type RouteRequest, type RouteResult, type Routes } from './router.ts';

export function toRequest(req: IncomingMessage, body?: ReadableStream): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const host = req.headers.host ?? 'plugin.local';
  return new Request(`http://${host}${req.url ?? '/'}`, {
    method,
    headers,
    ...(hasBody ? { body: body ?? (Readable.toWeb(req) as ReadableStream), duplex: 'half' } : {}),
  } as RequestInit);
}

export async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve));
      if (res.destroyed) break;
    }
  } finally {
    reader.releaseLock();
  }
  res.end();
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Whether a handler returned a fetch Response, WITHOUT reading the global `Response`: its first
 * read loads Node's whole fetch stack (undici, web streams, zlib, crypto…), about 14 MB of RSS per
 * plugin process (measured), which a route returning plain objects never needs.
 */
function isResponse(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.prototype.toString.call(value) === '[object Response]'
  );
}

/** Writes what a route handler returned: a Response, a string (text/plain) or JSON. */
export async function writeResult(result: RouteResult, res: ServerResponse): Promise<void> {
  if (isResponse(result)) return writeResponse(result, res);
  if (result === undefined || result === null) {
    res.writeHead(204).end();
    return;
  }
  if (typeof result === 'string') return send(res, 200, 'text/plain; charset=utf-8', result);
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(result));
}

export function createNodeRouter(
  routes: Routes,
): (req: IncomingMessage, res: ServerResponse, ctx: PluginContext) => Promise<void> {
  const match = compileRoutes(routes);
  return async (req, res, ctx) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://plugin.local');
    const found = match(method, url.pathname);
    if ('status' in found) {
      send(
        res,
        found.status,
        'application/json; charset=utf-8',
        JSON.stringify(noRouteBody(found.status, method, url.pathname)),
      );
      return;
    }
    // The body is read once, either by the handler's text()/json() or through req.request.
    let raw: Promise<Buffer> | undefined;
    let request: Request | undefined;
    const readRaw = (): Promise<Buffer> =>
      (raw ??= request
        ? request.arrayBuffer().then((b) => Buffer.from(b))
        : (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of req) chunks.push(chunk as Buffer);
            return Buffer.concat(chunks);
          })());
    const readText = async (): Promise<string> => (await readRaw()).toString('utf8');
    const routeRequest: RouteRequest = {
      get request() {
        if (!request) {
          const already = raw;
          request = toRequest(
            req,
            already
              ? new ReadableStream({
                  start: async (c) => (c.enqueue(new Uint8Array(await already)), c.close()),
                })
              : undefined,
          );
        }
        return request;
      },
      method,
      path: url.pathname,
      params: found.params,
      query: url.searchParams,
      json: async <T>() => JSON.parse(await readText()) as T,
      text: readText,
    };
    await writeResult(await found.handler(routeRequest, ctx), res);
  };
}
