/**
 * What core offers plugins over the runtime's RPC: storage in SQLite scoped by tenant and plugin,
 * events on the bus (namespaced per tenant), and outbound fetch (the runtime has checked the
 * host allow-list of the manifest before calling).
 */
import type { HostServices } from '@powerx/runtime';
import type { EventBus } from '../events/event-bus.ts';
import type { PluginStorage } from './plugin-storage.ts';

const FETCH_TIMEOUT_MS = 10_000;
const MAX_FETCH_BODY = 1024 * 1024;

export function createHostServices(storage: PluginStorage, bus: EventBus): HostServices {
  return {
    storage,
    events: {
      async publish(tenant, pluginId, type, payload) {
        await bus.publish(`tenant.${tenant}.${type}`, { tenant, plugin: pluginId, type, payload });
      },
      subscribe(tenant, type, handler) {
        return bus.subscribe(`tenant.${tenant}.${type}`, (event) =>
          handler((event.payload as { payload: unknown }).payload, { type, ts: event.ts }),
        );
      },
    },
    async fetch(url, init) {
      const response = await fetch(url, {
        method: init.method ?? 'GET',
        headers: init.headers,
        body: init.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: text.slice(0, MAX_FETCH_BODY),
      };
    },
  };
}
