/** Builds the `ctx` every hook and handler receives, on top of the IPC RPC client. */
import {
  PluginCallError,
  type Collection,
  type PluginContext,
  type PluginLogger,
  type StoredDocument,
} from '@powerx/plugin-sdk';
import type { LogLevel } from '@powerx/protocol';
import type { RpcClient } from './rpc-client.ts';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const MAX_MSG = 65_536;

export interface ContextInit {
  instanceId: string;
  tenant: string;
  pluginId: string;
  version: string;
  config: Record<string, string | number | boolean>;
  secrets: Record<string, string>;
  declaredSecrets: string[];
  logLevel: LogLevel;
}

export type EventHandler = (payload: unknown, meta: { type: string; ts: string }) => void | Promise<void>;

export interface RunnerContext {
  ctx: PluginContext;
  /** Delivers an event from the supervisor to the handlers subscribed to its type. */
  deliver(type: string, payload: unknown, meta: { type: string; ts: string }): void;
}

export function createContext(init: ContextInit, rpc: RpcClient): RunnerContext {
  const threshold = LEVELS.indexOf(init.logLevel);
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS.indexOf(level) < threshold) return;
    let safeFields: Record<string, unknown> | undefined;
    if (fields !== undefined) {
      try {
        safeFields = JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
      } catch {
        safeFields = { unserializable: true };
      }
    }
    const text = String(msg);
    try {
      rpc.post({
        t: 'log',
        level,
        msg: text.length > MAX_MSG ? text.slice(0, MAX_MSG) : text,
        ...(safeFields ? { fields: safeFields } : {}),
      });
    } catch {
      rpc.post({ t: 'log', level, msg: text.slice(0, 1024), fields: { truncated: true } });
    }
  };
  const log: PluginLogger = {
    level: init.logLevel,
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };

  const collection = (name: string): Collection => ({
    insert: (doc) => rpc.call('storage.insert', { collection: name, doc }) as Promise<StoredDocument>,
    get: async (id) =>
      ((await rpc.call('storage.get', { collection: name, id })) ?? undefined) as StoredDocument | undefined,
    find: (options = {}) =>
      rpc.call('storage.find', { collection: name, ...options }) as Promise<StoredDocument[]>,
    update: async (id, patch) =>
      ((await rpc.call('storage.update', { collection: name, id, patch })) ?? undefined) as
        StoredDocument | undefined,
    delete: (id) => rpc.call('storage.delete', { collection: name, id }) as Promise<boolean>,
    count: (where) =>
      rpc.call('storage.count', { collection: name, ...(where ? { where } : {}) }) as Promise<number>,
  });

  const handlers = new Map<string, EventHandler[]>();
  const declared = new Set(init.declaredSecrets);
  const secrets = Object.freeze({ ...init.secrets });

  const ctx: PluginContext = Object.freeze({
    tenant: init.tenant,
    plugin: Object.freeze({ id: init.pluginId, version: init.version }),
    instanceId: init.instanceId,
    log,
    config: Object.freeze({ ...init.config }),
    secrets: Object.freeze({
      get(name: string) {
        if (!declared.has(name)) {
          // Tell the operator (the name is not secret; a value never leaves this function).
          emit('warn', 'plugin asked for an undeclared secret', { secret: String(name).slice(0, 128) });
          throw new PluginCallError({
            code: 'SECRET_NOT_DECLARED',
            message: `Secret "${name}" is not declared by the plugin`,
            hint: 'Declare it under config.secrets in plugin.yaml.',
          });
        }
        return secrets[name];
      },
      has: (name: string) => declared.has(name) && secrets[name] !== undefined,
    }),
    storage: Object.freeze({ collection }),
    events: Object.freeze({
      publish: async (type: string, payload: unknown) => {
        await rpc.call('events.publish', { type, payload });
      },
      subscribe(type: string, handler: EventHandler) {
        const list = handlers.get(type);
        if (list) {
          list.push(handler);
          return;
        }
        handlers.set(type, [handler]);
        rpc.call('events.subscribe', { type }).catch((error: PluginCallError) => {
          handlers.delete(type);
          emit('error', `subscribe to ${type} refused: ${error.message}`, { code: error.code });
        });
      },
    }),
    http: Object.freeze({
      fetch: async (
        url: string,
        init: { method?: string; headers?: Record<string, string>; body?: string } = {},
      ) => {
        const result = (await rpc.call('http.fetch', { url: String(url), init })) as {
          status: number;
          headers: Record<string, string>;
          body: string;
        };
        const nullBody = [101, 204, 205, 304].includes(result.status);
        return new Response(nullBody ? null : result.body, {
          status: result.status,
          headers: result.headers,
        });
      },
    }),
  });

  return {
    ctx,
    deliver(type, payload, meta) {
      for (const handler of handlers.get(type) ?? []) {
        Promise.resolve()
          .then(() => handler(payload, meta))
          .catch((error: unknown) =>
            emit('error', `event handler for ${type} failed: ${(error as Error)?.message ?? String(error)}`),
          );
      }
    },
  };
}
