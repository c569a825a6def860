/**
 * The test entry point core mounts at `/_p/<tenant>/<plugin>/…`: a streaming reverse proxy to
 * the instance's Unix socket with one keep-alive agent per socket. It forwards method, headers
 * (minus hop-by-hop ones), bodies in both directions without buffering, and the status. When
 * the instance is not ready it answers itself with a JSON `{code, message, hint}`: 503 while it
 * is starting, checking health or stopping (retry soon), 502 when it is down or failed.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { InstanceState } from './contract.ts';

export type EntryTarget = { tenant: string; pluginId: string; path: string };
export type EntryResolver = (tenant: string, pluginId: string) => { socketPath: string; state: InstanceState } | undefined;
export type EntryProxy = ((req: IncomingMessage, res: ServerResponse, target: EntryTarget) => void) & {
  /** Closes idle keep-alive connections of every agent (call on shutdown). */
  close(): void;
};

/** RFC 9110 §7.6.1 connection-specific headers, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
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
    const headers = forwardable(req.headers);
    const prefix = `/_p/${encodeURIComponent(target.tenant)}/${encodeURIComponent(target.pluginId)}`;
    headers['x-forwarded-prefix'] = prefix;
    headers['x-forwarded-proto'] = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
    const remote = req.socket.remoteAddress;
    if (remote) headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${remote}` : remote;

    const upstream = http.request({ socketPath: instance.socketPath, method: req.method, path, headers, agent: agentFor(instance.socketPath) });
    upstream.on('response', (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.statusMessage, forwardable(reply.headers));
      reply.pipe(res);
      reply.on('error', () => res.destroy());
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') forget(instance.socketPath);
      problem(res, 502, 'unreachable', `The plugin did not answer: ${error.code ?? error.message}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
  return Object.assign(proxy, {
    close() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  });
}
