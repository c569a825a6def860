/**
 * What core offers plugins over the runtime's RPC: storage in the core database scoped by tenant
 * and plugin, events on the bus (namespaced per tenant), and outbound fetch. The runtime has
 * checked the manifest's `http:<host>` allow-list before calling; core then checks the address
 * really connected to (outbound/address-policy.ts) under the tenant's operator settings.
 */
import type { HostServices } from '@powerx/runtime';
import type { EventBus } from '../events/event-bus.ts';
import type { SandboxLimits } from '../limits/sandbox-limits.ts';
import type { PluginStorage } from './plugin-storage.ts';
import { AddressPolicy } from './outbound/address-policy.ts';
import { DEFAULT_OUTBOUND_LIMITS, outboundFetch, type OutboundLimits } from './outbound/outbound-fetch.ts';

export function createHostServices(
  storage: PluginStorage,
  bus: EventBus,
  limits: SandboxLimits,
  outbound: OutboundLimits = DEFAULT_OUTBOUND_LIMITS,
): HostServices {
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
    fetch(url, init, scope) {
      const policy = new AddressPolicy(limits.forTenant(scope.tenant).outboundAllowNetworks ?? []);
      return outboundFetch(url, init, policy, outbound);
    },
  };
}
