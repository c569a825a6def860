/**
 * Serves one validated RPC call of a plugin instance against core's HostServices, after checking
 * the manifest's permissions. The tenant and plugin id come from the instance the supervisor
 * started, never from the message.
 */
import {
  PluginRuntimeError,
  isPxError,
  type Manifest,
  type RpcCall,
  type RpcErrorBody,
} from '@powerx/protocol';
import type { HostServices } from './contract.ts';

export interface CallScope {
  tenant: string;
  pluginId: string;
  manifest: Manifest;
  secrets: Record<string, string>;
  /** Delivers an event to the plugin; registered per subscription. */
  deliver(type: string, payload: unknown, meta: { type: string; ts: string }): void;
  /** Keeps unsubscribe functions so a stop or restart drops them. */
  subscriptions: Map<string, () => void>;
}

const denied = (action: string) => new PluginRuntimeError('PERMISSION_DENIED', { action });

function requirePermission(scope: CallScope, permission: string, action: string): void {
  if (!scope.manifest.permissions.includes(permission)) throw denied(action);
}

/** `http:<host>` allows that hostname on any port; `http:<host>:<port>` that port only. */
export function hostAllowed(permissions: readonly string[], url: URL): boolean {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return permissions.some((p) => {
    if (!p.startsWith('http:')) return false;
    const [host, allowedPort] = p.slice(5).split(':');
    return host === url.hostname && (allowedPort === undefined || allowedPort === port);
  });
}

export async function serveCall(call: RpcCall, scope: CallScope, host: HostServices): Promise<unknown> {
  const { tenant, pluginId, manifest } = scope;
  switch (call.method) {
    case 'storage.insert':
      requirePermission(
        scope,
        'storage',
        `write collection "${call.args.collection}" (permission "storage")`,
      );
      return host.storage.insert(tenant, pluginId, call.args.collection, call.args.doc);
    case 'storage.get':
      requirePermission(scope, 'storage', `read collection "${call.args.collection}" (permission "storage")`);
      return (await host.storage.get(tenant, pluginId, call.args.collection, call.args.id)) ?? null;
    case 'storage.find':
      requirePermission(scope, 'storage', `read collection "${call.args.collection}" (permission "storage")`);
      return host.storage.find(tenant, pluginId, call.args.collection, {
        where: call.args.where,
        limit: call.args.limit ?? 100,
        offset: call.args.offset,
      });
    case 'storage.update':
      requirePermission(
        scope,
        'storage',
        `write collection "${call.args.collection}" (permission "storage")`,
      );
      return (
        (await host.storage.update(tenant, pluginId, call.args.collection, call.args.id, call.args.patch)) ??
        null
      );
    case 'storage.delete':
      requirePermission(
        scope,
        'storage',
        `write collection "${call.args.collection}" (permission "storage")`,
      );
      return host.storage.delete(tenant, pluginId, call.args.collection, call.args.id);
    case 'storage.count':
      requirePermission(scope, 'storage', `read collection "${call.args.collection}" (permission "storage")`);
      return host.storage.count(tenant, pluginId, call.args.collection, call.args.where);
    case 'events.publish':
      requirePermission(scope, 'events:publish', `publish events (permission "events:publish")`);
      if (!manifest.events.publish.includes(call.args.type))
        throw denied(`publish event "${call.args.type}" (not listed in events.publish)`);
      await host.events.publish(tenant, pluginId, call.args.type, call.args.payload);
      return null;
    case 'events.subscribe': {
      const type = call.args.type;
      requirePermission(scope, 'events:subscribe', `subscribe to events (permission "events:subscribe")`);
      if (!manifest.events.subscribe.includes(type))
        throw denied(`subscribe to event "${type}" (not listed in events.subscribe)`);
      if (!scope.subscriptions.has(type)) {
        scope.subscriptions.set(
          type,
          host.events.subscribe(tenant, type, (payload, meta) => scope.deliver(type, payload, meta)),
        );
      }
      return null;
    }
    case 'http.fetch': {
      let url: URL;
      try {
        url = new URL(call.args.url);
      } catch {
        throw new PluginRuntimeError('RPC_INVALID', { detail: 'http.fetch needs an absolute URL' });
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw denied(`fetch ${url.protocol} URLs (only http and https)`);
      if (url.username || url.password)
        throw new PluginRuntimeError('RPC_INVALID', {
          detail: 'credentials in URLs are not allowed; send a header',
        });
      if (!hostAllowed(manifest.permissions, url))
        throw denied(`fetch ${url.host} (permission "http:${url.hostname}")`);
      return host.fetch(url.href, call.args.init, { tenant, pluginId });
    }
    case 'secrets.get': {
      const declared = manifest.config.secrets.some((s) => s.name === call.args.name);
      if (!declared) throw new PluginRuntimeError('SECRET_NOT_DECLARED', { name: call.args.name });
      return scope.secrets[call.args.name] ?? null;
    }
  }
}

/** The error body sent back to the plugin: PxErrors as they are, anything else without detail. */
export function errorBody(error: unknown): RpcErrorBody {
  if (isPxError(error)) return { code: error.code, message: error.message, hint: error.hint };
  return {
    code: 'INTERNAL',
    message: 'Core failed to serve the call',
    hint: 'Retry; if it keeps failing, report it with the plugin logs.',
  };
}
