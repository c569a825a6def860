import type { PluginContext } from './context.ts';

export interface RouteRequest {
  readonly request: Request;
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  json<T = unknown>(): Promise<T>;
  text(): Promise<string>;
}

/** A handler may return a Response, a string (text/plain) or any JSON-serializable value. */
export type RouteResult = Response | string | object | null | undefined;
export type RouteHandler = (req: RouteRequest, ctx: PluginContext) => RouteResult | Promise<RouteResult>;
/** Keys are "METHOD /path/:param"; method "*" matches any. */
export type Routes = Record<string, RouteHandler>;

interface CompiledRoute {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

function compile(key: string, handler: RouteHandler): CompiledRoute {
  const match = /^(\*|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\/\S*)$/.exec(key.trim());
  if (!match) throw new TypeError(`Route "${key}" must look like "GET /path/:param"`);
  const names: string[] = [];
  const source = match[2]
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      if (segment === '*') return '(?:.*)';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { method: match[1], pattern: new RegExp(`^${source}/?$`), names, handler };
}

export function json(data: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(data), { ...init, headers });
}

export function text(body: string, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
  return new Response(body, { ...init, headers });
}

/** What a route handler returned, as a Response: Response as is, string as text/plain, null as 204, else JSON. */
export function toResponse(result: RouteResult): Response {
  if (result instanceof Response) return result;
  if (result === undefined || result === null) return new Response(null, { status: 204 });
  if (typeof result === 'string') return text(result);
  return json(result);
}

export type RouteMatch = { handler: RouteHandler; params: Record<string, string> } | { status: 404 | 405 };

/** Compiles routes once; the matcher is shared by the fetch-style and the node-style router. */
export function compileRoutes(routes: Routes): (method: string, pathname: string) => RouteMatch {
  const compiled = Object.entries(routes).map(([key, handler]) => compile(key, handler));
  return (method, pathname) => {
    let pathMatched = false;
    for (const route of compiled) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== '*' && route.method !== method && !(route.method === 'GET' && method === 'HEAD'))
        continue;
      return {
        handler: route.handler,
        params: Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(m[i + 1])])),
      };
    }
    return { status: pathMatched ? 405 : 404 };
  };
}

/** The JSON body of a 404 / 405 from the router. */
export function noRouteBody(
  status: 404 | 405,
  method: string,
  pathname: string,
): { code: string; message: string } {
  return status === 405
    ? { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed on ${pathname}` }
    : { code: 'NOT_FOUND', message: `No route for ${method} ${pathname}` };
}

export function createRouter(routes: Routes): (request: Request, ctx: PluginContext) => Promise<Response> {
  const match = compileRoutes(routes);
  return async (request, ctx) => {
    const url = new URL(request.url);
    const found = match(request.method, url.pathname);
    if ('status' in found)
      return json(noRouteBody(found.status, request.method, url.pathname), { status: found.status });
    const req: RouteRequest = {
      request,
      method: request.method,
      path: url.pathname,
      params: found.params,
      query: url.searchParams,
      json: <T>() => request.json() as Promise<T>,
      text: () => request.text(),
    };
    return toResponse(await found.handler(req, ctx));
  };
}
