/**
 * The test entry point core mounts at `/_p/<tenant>/<plugin>/…`: a streaming reverse proxy to
 * the instance's Unix socket with one keep-alive agent per socket. It forwards method, headers
 * (minus hop-by-hop ones), bodies in both directions without buffering, and the status. When
 * the instance is not ready it answers itself with a JSON `{code, message, hint}`: 503 while it
 * is starting, checking health or stopping (retry soon), 502 when it is down or failed.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { InstanceState } from './contract.ts';

export type EntryTarget = { tenant: string; pluginId: string; path: string };
export type EntryResolver = (tenant: string, pluginId: string) => { socketPath: string; state: InstanceState } | undefined;
export type EntryProxy = ((req: IncomingMessage, res: ServerResponse, target: EntryTarget) => void) & {
  /** Closes idle keep-alive connections of every agent (call on shutdown). */
  close(): void;
};

/** Responses up to this size with a content-length are written in one go; larger ones stream. */
const SMALL_BODY = 64 * 1024;

/** RFC 9110 §7.6.1 connection-specific headers, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Raw header list (name, value, name, value…) without hop-by-hop headers and those named in Connection. */
function forwardable(raw: string[], connection: string | string[] | undefined): string[] {
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
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || named?.has(name) || name.startsWith('x-forwarded-')) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function problem(res: ServerResponse, status: number, state: string, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    code: 'INSTANCE_UNAVAILABLE',
    message: message ?? `The plugin is ${state}`,
    hint: status === 503 ? 'Wait for the plugin to become healthy, then retry.' : 'Check the plugin status and logs (px-plugin status / logs), then restart or reinstall it.',
  });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...(status === 503 ? { 'retry-after': '1' } : {}) });
  res.end(body);
}

export function createEntryProxy(resolve: EntryResolver): EntryProxy {
  const agents = new Map<string, http.Agent>();
  const agentFor = (socketPath: string): http.Agent => {
    let agent = agents.get(socketPath);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 });
      agents.set(socketPath, agent);
    }
    return agent;
  };
  const forget = (socketPath: string) => {
    agents.get(socketPath)?.destroy();
    agents.delete(socketPath);
  };

  const proxy = (req: IncomingMessage, res: ServerResponse, target: EntryTarget): void => {
    const instance = resolve(target.tenant, target.pluginId);
    if (!instance || instance.state === 'stopped' || instance.state === 'failed') {
      problem(res, 502, instance?.state ?? 'not running');
      return;
    }
    if (instance.state !== 'ready') {
      problem(res, 503, instance.state);
      return;
    }
    const path = target.path.startsWith('/') ? target.path : `/${target.path}`;
    // Raw header arrays both ways: no per-request header objects to build (measurably faster).
    const headers = forwardable(req.rawHeaders, req.headers.connection);
    const remote = req.socket.remoteAddress;
    const forwardedFor = req.headers['x-forwarded-for'];
    headers.push(
      'x-forwarded-prefix',
      `/_p/${encodeURIComponent(target.tenant)}/${encodeURIComponent(target.pluginId)}`,
      'x-forwarded-proto',
      (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    );
    if (req.headers.host) headers.push('x-forwarded-host', req.headers.host);
    if (remote) headers.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${remote}` : remote);

    const upstream = http.request({ socketPath: instance.socketPath, method: req.method, path, headers, agent: agentFor(instance.socketPath) });
    upstream.on('response', (reply) => {
      const status = reply.statusCode ?? 502;
      const replyHeaders = forwardable(reply.rawHeaders, reply.headers.connection);
      reply.on('error', () => res.destroy());
      const length = Number(reply.headers['content-length'] ?? Number.NaN);
      if (length <= SMALL_BODY) {
        // Small body of known length: one write for headers and body (fewer syscalls per request).
        const chunks: Buffer[] = [];
        reply.on('data', (chunk: Buffer) => chunks.push(chunk));
        reply.on('end', () => {
          res.writeHead(status, reply.statusMessage, replyHeaders);
          res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        });
        return;
      }
      res.writeHead(status, reply.statusMessage, replyHeaders);
      reply.pipe(res);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') forget(instance.socketPath);
      problem(res, 502, 'unreachable', `The plugin did not answer: ${error.code ?? error.message}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    // No body (no length, no chunking): end the upstream request now instead of piping nothing.
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
      req.resume();
      upstream.end();
    } else req.pipe(upstream);
  };
  return Object.assign(proxy, {
    close() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  });
}
