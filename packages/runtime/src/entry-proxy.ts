/**
 * The test entry point core mounts at `/_p/<tenant>/<plugin>/…`: a streaming reverse proxy to
 * the instance's Unix socket. It forwards method, headers (minus hop-by-hop ones), bodies in both
 * directions without buffering, and the status. When the instance is not ready it answers itself
 * with a JSON `{code, message, hint}`: 503 while it is starting, checking health or stopping
 * (retry soon), 502 when it is down or failed.
 *
 * The upstream side is an undici `Pool` per socket driven through `dispatch()` (callbacks, no
 * response object or stream per request): measured on /ping it costs the proxy about half the
 * CPU per request of `http.request` with a keep-alive agent, which is most of the proxy's
 * overhead beside a direct request (README, "Figures").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { InstanceState } from './contract.ts';
import { appendForwardedFor, forwardableRawHeaders } from './forwarded-headers.ts';
import { entryResponseHeaders } from './entry-response-headers.ts';
import { entryPath } from '@powerx/protocol';

export type EntryTarget = { tenant: string; pluginId: string; path: string };
export type EntryResolver = (
  tenant: string,
  pluginId: string,
) => { socketPath: string; state: InstanceState } | undefined;
export type EntryProxy = ((req: IncomingMessage, res: ServerResponse, target: EntryTarget) => void) & {
  /** Closes the keep-alive connections of every socket (call on shutdown). */
  close(): void;
};

/** Responses up to this size with a content-length are written in one go; larger ones stream. */
const SMALL_BODY = 64 * 1024;

function problem(res: ServerResponse, status: number, state: string, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    code: 'INSTANCE_UNAVAILABLE',
    message: message ?? `The plugin is ${state}`,
    hint:
      status === 503
        ? 'Wait for the plugin to become healthy, then retry.'
        : 'Check the plugin status and logs (px-plugin status / logs), then restart or reinstall it.',
  });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(status === 503 ? { 'retry-after': '1' } : {}),
  });
  res.end(body);
}

/** Relays one upstream response into `res`, with backpressure both ways and aborts propagated. */
class Relay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #onConnectError: (error: Error & { code?: string }) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #statusMessage: string | undefined;
  #headers: string[] = [];
  /** Small body of known length: collected, then written with the headers in one go. */
  #chunks: Buffer[] | undefined;
  #done = false;

  readonly #cookiePath: string;

  constructor(
    res: ServerResponse,
    cookiePath: string,
    onConnectError: (error: Error & { code?: string }) => void,
  ) {
    this.#res = res;
    this.#cookiePath = cookiePath;
    this.#onConnectError = onConnectError;
    res.on('close', () => {
      // The client went away before the whole answer was written: stop the plugin's work too.
      if (!this.#done && !res.writableFinished)
        this.#controller?.abort(new Error('client closed the connection'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx: the front server handles its own informational answers
    const res = this.#res;
    this.#status = statusCode;
    this.#statusMessage = statusMessage || undefined;
    this.#headers = entryResponseHeaders(
      forwardableRawHeaders((controller.rawHeaders as (string | Buffer)[] | null) ?? [], headers.connection),
      this.#cookiePath,
    );
    const length = Number(headers['content-length'] ?? Number.NaN);
    if (length <= SMALL_BODY) {
      this.#chunks = [];
      return;
    }
    res.writeHead(statusCode, statusMessage || undefined, this.#headers);
    res.flushHeaders();
    res.on('drain', () => this.#controller?.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#chunks) {
      this.#chunks.push(chunk);
      return;
    }
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#done = true;
    const res = this.#res;
    if (res.destroyed) return;
    const chunks = this.#chunks;
    if (chunks) {
      res.writeHead(this.#status, this.#statusMessage, this.#headers);
      res.end(chunks.length === 1 ? chunks[0] : chunks.length === 0 ? undefined : Buffer.concat(chunks));
    } else res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error & { code?: string }): void {
    this.#done = true;
    const res = this.#res;
    if (res.destroyed) return;
    if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') this.#onConnectError(error);
    problem(res, 502, 'unreachable', `The plugin did not answer: ${error.code ?? error.message}`);
  }
}

export function createEntryProxy(resolve: EntryResolver): EntryProxy {
  const pools = new Map<string, Pool>();
  const poolFor = (socketPath: string): Pool => {
    let pool = pools.get(socketPath);
    if (!pool) {
      // bodyTimeout 0: streamed answers (server-sent events, long downloads) may pause for long.
      pool = new Pool('http://plugin.local', {
        connect: { socketPath },
        connections: 64,
        keepAliveTimeout: 60_000,
        bodyTimeout: 0,
      });
      pools.set(socketPath, pool);
    }
    return pool;
  };
  const forget = (socketPath: string) => {
    const pool = pools.get(socketPath);
    pools.delete(socketPath);
    pool?.destroy().catch(() => undefined);
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
    const headers = forwardableRawHeaders(req.rawHeaders, req.headers.connection);
    headers.push(
      'x-forwarded-prefix',
      `/_p/${encodeURIComponent(target.tenant)}/${encodeURIComponent(target.pluginId)}`,
      'x-forwarded-proto',
      (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    );
    if (req.headers.host) headers.push('x-forwarded-host', req.headers.host);
    const forwardedFor = appendForwardedFor(req.headers['x-forwarded-for'], req.socket.remoteAddress);
    if (forwardedFor) headers.push('x-forwarded-for', forwardedFor);

    // No body (no length, no chunking): nothing to stream upstream.
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) req.resume();
    const socketPath = instance.socketPath;
    poolFor(socketPath).dispatch(
      { path, method: req.method ?? 'GET', headers, body: hasBody ? req : null },
      new Relay(res, entryPath(target.tenant, target.pluginId), () => forget(socketPath)),
    );
  };
  return Object.assign(proxy, {
    close() {
      for (const pool of pools.values()) pool.destroy().catch(() => undefined);
      pools.clear();
    },
  });
}
