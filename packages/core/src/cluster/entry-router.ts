/**
 * The entry point `/_p/<tenant>/<plugin>/…` on a cluster node: served by the local instance when
 * this node runs one, otherwise forwarded to the node holding the plugin's lease, at its
 * advertised address (one keep-alive undici pool per node). A forwarded request is marked, and
 * the receiving node never forwards it again, so a stale view can never loop.
 *
 * A holder that is `starting` (taking over) is skipped for the previous holder while that one
 * still serves; a node that does not answer (killed) is reported to the placement, which asks
 * whether the node is gone and takes its plugin over at once, and the request gets one retry
 * through a fresh lease read when it has no body, else a 503 that says another node takes over
 * shortly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import {
  appendForwardedFor,
  forwardableHeaders,
  type EntryProxy,
  type EntryTarget,
  type InstanceInfo,
} from '@powerx/runtime';
import type { LeaseValue } from './leases.ts';
import type { ClusterMetrics } from './cluster-metrics.ts';

export const FORWARDED_HEADER = 'x-px-forwarded-by';

export interface EntryRouterDeps {
  nodeId: string;
  local: EntryProxy;
  servingInstance(tenant: string, pluginId: string): InstanceInfo | undefined;
  owner(tenant: string, pluginId: string): LeaseValue | undefined;
  refreshOwner(tenant: string, pluginId: string): Promise<LeaseValue | undefined>;
  /** A forward to the holder failed: find out whether its node is gone and take over if so. */
  ownerUnreachable(tenant: string, pluginId: string): Promise<void>;
  metrics: ClusterMetrics;
  /** Told in the 503 hint: how soon another node takes over a dead one's plugins. */
  takeoverSeconds: number;
}

/** The router is an entry proxy that also tells whether a plugin is known to be served somewhere. */
export type ClusterEntryProxy = EntryProxy & {
  /** A lease names a node serving it: installed, no need to ask the store (uninstalls remove the lease). */
  knows(tenant: string, pluginId: string): boolean;
};

export function createEntryRouter(deps: EntryRouterDeps): ClusterEntryProxy {
  const pools = new Map<string, Pool>();
  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 64, keepAliveTimeout: 60_000, bodyTimeout: 0 });
      pools.set(origin, pool);
    }
    return pool;
  };

  const unavailable = (res: ServerResponse, message: string): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'retry-after': String(Math.max(1, Math.ceil(deps.takeoverSeconds))),
    });
    res.end(
      JSON.stringify({
        code: 'INSTANCE_UNAVAILABLE',
        message,
        hint: `Retry in a few seconds: another node takes the plugin over within about ${deps.takeoverSeconds} s.`,
      }),
    );
  };

  const target = (owner: LeaseValue): string =>
    owner.state === 'starting' && owner.prevUrl ? owner.prevUrl : owner.url;

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    entry: EntryTarget,
    origin: string,
    retry: boolean,
  ): void => {
    // The client's `host` goes on to the owner, so that a plugin sees the same `x-forwarded-host`
    // through any node (left out, the pool would send the owner's internal address).
    const headers = forwardableHeaders(req.headers);
    headers[FORWARDED_HEADER] = deps.nodeId;
    const forwardedFor = appendForwardedFor(req.headers['x-forwarded-for'], req.socket.remoteAddress);
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) req.resume();
    poolFor(origin)
      .stream(
        { path: req.url ?? '/', method: (req.method ?? 'GET') as never, headers, body: hasBody ? req : null },
        ({ statusCode, headers: answer }) => {
          res.writeHead(statusCode, forwardableHeaders(answer));
          return res;
        },
      )
      .then(
        () => deps.metrics.forwarded.inc({ result: 'ok' }),
        async (error: Error & { code?: string }) => {
          deps.metrics.forwarded.inc({ result: 'unreachable' });
          void deps.ownerUnreachable(entry.tenant, entry.pluginId).catch(() => undefined);
          if (res.headersSent || res.destroyed) {
            res.destroy();
            return;
          }
          const fresh = await deps.refreshOwner(entry.tenant, entry.pluginId).catch(() => undefined);
          if (retry && !hasBody && fresh && fresh.node !== deps.nodeId && target(fresh) !== origin) {
            forward(req, res, entry, target(fresh), false);
            return;
          }
          if (fresh?.node === deps.nodeId) {
            deps.local(req, res, entry);
            return;
          }
          unavailable(res, `The node serving the plugin did not answer (${error.code ?? error.message})`);
        },
      );
  };

  const route = (req: IncomingMessage, res: ServerResponse, entry: EntryTarget): void => {
    const here = deps.servingInstance(entry.tenant, entry.pluginId);
    if (here?.state === 'ready' || req.headers[FORWARDED_HEADER] !== undefined) {
      deps.local(req, res, entry);
      return;
    }
    const owner = deps.owner(entry.tenant, entry.pluginId);
    if (owner) {
      const dest = target(owner);
      // Another node's, or ours while we take it over and the previous holder still serves.
      if (owner.node !== deps.nodeId || dest !== owner.url) forward(req, res, entry, dest, true);
      else if (!here && owner.state === 'starting')
        unavailable(res, 'The plugin is being started on this node after its previous node went away');
      else deps.local(req, res, entry);
      return;
    }
    if (here) {
      deps.local(req, res, entry);
      return;
    }
    // Not known yet (a lease written a moment ago, a view behind): ask NATS once.
    void deps.refreshOwner(entry.tenant, entry.pluginId).then(
      (fresh) =>
        fresh && fresh.node !== deps.nodeId
          ? forward(req, res, entry, target(fresh), true)
          : deps.local(req, res, entry),
      () => deps.local(req, res, entry),
    );
  };

  return Object.assign(route, {
    knows: (tenant: string, pluginId: string) => deps.owner(tenant, pluginId) !== undefined,
    close() {
      deps.local.close();
      for (const pool of pools.values()) pool.destroy().catch(() => undefined);
      pools.clear();
    },
  });
}
