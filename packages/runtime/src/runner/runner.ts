/**
 * The sandbox entry: the first code of every `runtime.kind: node` plugin process. The supervisor
 * bundles this file (with the SDK) into one CommonJS file, so the process needs read access to that
 * file and the plugin's version folder only. It:
 *  1. waits for the `init` message (config and secrets come here, never through the environment),
 *  2. imports the plugin's entry and runs `onStart`,
 *  3. serves HTTP on a `node:http` server fed with sockets the supervisor accepted and handed over
 *     (`'conn'` messages): the process itself has no network permission,
 *  4. on SIGTERM stops taking connections, lets in-flight requests finish, runs `onStop`, exits.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  createNodeRouter,
  definePlugin,
  isDefinedPlugin,
  toRequest,
  writeResponse,
  type DefinedPlugin,
  type PluginContext,
  type PluginDefinition,
} from '@powerx/plugin-sdk';
import type { InitMessage } from '@powerx/protocol';
import { createContext, type RunnerContext } from './context.ts';
import { RpcClient } from './rpc-client.ts';

const rawSend = process.send?.bind(process);
if (!rawSend) {
  process.stderr.write('the runner must be started by the PowerX supervisor (no IPC channel)\n');
  process.exit(78);
}
let rpc: RpcClient;

// Plugin code shares this process: route its direct `process.send` calls through the size cap too.
// (The supervisor re-checks every message; this only fails early and clearly.)
Object.defineProperty(process, 'send', {
  value: (message: unknown) => {
    rpc.post(message as object);
    return true;
  },
  writable: false,
  configurable: false,
});

let plugin: DefinedPlugin | undefined;
// Route-style plugins are served straight from node:http (no Request/Response unless asked for).
let routeHandler:
  ((req: http.IncomingMessage, res: http.ServerResponse, ctx: PluginContext) => Promise<void>) | undefined;
let runner: RunnerContext | undefined;
let seedModule: string | undefined;
let stopping = false;
// The server never listens: sockets come from the supervisor. We track them ourselves (active
// requests per socket) so that a stop can close idle ones and wait for busy ones.
const server = http.createServer((req, res) => void handle(req, res));
const sockets = new Map<Socket, number>();

function track(req: http.IncomingMessage, res: http.ServerResponse): void {
  const socket = req.socket;
  sockets.set(socket, (sockets.get(socket) ?? 0) + 1);
  if (stopping) res.shouldKeepAlive = false;
  res.on('close', () => {
    const left = (sockets.get(socket) ?? 1) - 1;
    if (sockets.has(socket)) sockets.set(socket, left);
    if (stopping && left === 0) socket.end();
  });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const ctx = runner!.ctx;
  track(req, res);
  try {
    if (plugin!.node) {
      plugin!.node(req, res, ctx);
      return;
    }
    if (routeHandler) {
      await routeHandler(req, res, ctx);
      return;
    }
    const response = await plugin!.handle!(toRequest(req), ctx);
    await writeResponse(response, res);
  } catch (error) {
    const denied = accessDenied(error);
    if (denied) ctx.log.warn(denied.msg, { ...denied.fields, path: req.url });
    else
      ctx.log.error('request handler threw', {
        error: (error as Error)?.message ?? String(error),
        path: req.url,
      });
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(
        JSON.stringify({
          code: 'PLUGIN_ERROR',
          message: 'The plugin failed to handle the request',
          hint: 'See the plugin logs.',
        }),
      );
    } else res.destroy();
  }
}

async function start(init: InitMessage): Promise<void> {
  rpc = new RpcClient(rawSend!, init.maxMessageBytes);
  runner = createContext(init, rpc);
  seedModule = init.seedModule;
  try {
    const mod = (await import(pathToFileURL(init.entry).href)) as { default?: unknown; plugin?: unknown };
    const exported = mod.default ?? mod.plugin;
    if (isDefinedPlugin(exported)) plugin = exported;
    else if (exported && typeof exported === 'object') plugin = definePlugin(exported as PluginDefinition);
    else throw new Error(`${init.entry} must default-export definePlugin({ … })`);
    if (plugin.routes) routeHandler = createNodeRouter(plugin.routes);
    await plugin.onStart?.(runner.ctx);
  } catch (error) {
    const e = error as Error;
    rawSend!({
      t: 'fatal',
      message: String(e?.message ?? e).slice(0, 8000),
      ...(e?.stack ? { stack: e.stack.slice(0, 16000) } : {}),
    });
    setTimeout(() => process.exit(70), 50);
    return;
  }
  rawSend!({ t: 'ready' });
}

async function runSeed(id: number): Promise<void> {
  try {
    if (seedModule) {
      const mod = (await import(pathToFileURL(seedModule).href)) as { default?: unknown; seed?: unknown };
      const fn = (mod.default ?? mod.seed) as ((ctx: unknown) => unknown) | undefined;
      if (typeof fn !== 'function')
        throw new Error(`${seedModule} must default-export a function (ctx) => …`);
      await fn(runner!.ctx);
    } else await plugin?.seed?.(runner!.ctx);
    rawSend!({ t: 'seed.done', id, ok: true });
  } catch (error) {
    rawSend!({
      t: 'seed.done',
      id,
      ok: false,
      message: String((error as Error)?.message ?? error).slice(0, 8000),
    });
  }
}

process.on('message', (message: unknown, handle?: unknown) => {
  if (message === 'conn') {
    const socket = handle as Socket | undefined;
    if (!socket) return;
    if (stopping) {
      socket.destroy();
      return;
    }
    sockets.set(socket, 0);
    socket.on('close', () => {
      sockets.delete(socket);
      if (stopping && sockets.size === 0) void finish();
    });
    server.emit('connection', socket);
    socket.resume();
    return;
  }
  const m = message as { t?: string } & Record<string, unknown>;
  switch (m?.t) {
    case 'init':
      if (!runner) void start(m as unknown as InitMessage);
      break;
    case 'rpc.result':
      rpc?.settle(m as never);
      break;
    case 'event':
      runner?.deliver(m.type as string, m.payload, m.meta as { type: string; ts: string });
      break;
    case 'seed':
      void runSeed(m.id as number);
      break;
  }
});

process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  // In-flight requests finish; idle keep-alive connections close now; the supervisor's grace
  // period bounds the wait with SIGKILL.
  for (const [socket, active] of sockets) if (active === 0) socket.destroy();
  if (sockets.size === 0) void finish();
});

let finishing = false;
async function finish(): Promise<void> {
  if (finishing) return;
  finishing = true;
  try {
    if (plugin && runner) await plugin.onStop?.(runner.ctx);
  } catch (error) {
    runner?.ctx.log.error('onStop threw', { error: (error as Error)?.message ?? String(error) });
  }
  process.exit(0);
}

/**
 * What the sandbox blocked, for the plugin log and the Admin: Node's ERR_ACCESS_DENIED carries
 * the permission (FileSystemRead, ChildProcess, Net, …) and the resource it was refused.
 */
function accessDenied(error: unknown): { msg: string; fields: Record<string, unknown> } | undefined {
  const e = error as { code?: unknown; permission?: unknown; resource?: unknown } | null;
  if (e?.code !== 'ERR_ACCESS_DENIED') return undefined;
  const permission = typeof e.permission === 'string' ? e.permission : 'unknown';
  const resource = typeof e.resource === 'string' ? e.resource.slice(0, 500) : undefined;
  return {
    msg: `blocked by the sandbox: ${permission}${resource ? ` ${resource}` : ''}`,
    fields: { code: 'ERR_ACCESS_DENIED', permission, ...(resource ? { resource } : {}) },
  };
}

// An uncaught one still ends the process (Node's default); report it first, synchronously (stderr
// is a pipe: synchronous on Linux), as a JSON line the supervisor's log capture keeps at warn.
process.on('uncaughtExceptionMonitor', (error) => {
  const denied = accessDenied(error);
  if (denied)
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg: denied.msg, ...denied.fields })}\n`);
});

// An idle process only waits for messages: keep the IPC channel from holding the loop alive
// after a disconnect from the supervisor (core went away ⇒ the plugin goes too).
process.on('disconnect', () => process.exit(0));
