/**
 * The scaled deployment's parts, built when PX_NATS_URL is set: the shared bus, log feed, blob
 * bucket, placement (leases, heartbeats, takeovers), the entry router and the dev sessions.
 * start-core.ts swaps them in for the embedded ones; everything else in core is the same code on
 * one node or many.
 */
import type { Logger } from 'pino';
import type { EntryProxy } from '@powerx/runtime';
import type { Db } from '../storage/schema.ts';
import type { CorePaths } from '../config/core-paths.ts';
import type { ClusterEnv, ClusterTuning } from '../config/cluster-env.ts';
import type { CoreMetrics } from '../metrics/core-metrics.ts';
import type { InstallPipeline } from '../install/install-pipeline.ts';
import { connectNatsCluster, type NatsCluster } from './nats-cluster.ts';
import { NatsEventBus } from '../events/nats-event-bus.ts';
import { NatsLogFeed } from '../logs/nats-log-feed.ts';
import { NatsBlobStore } from '../storage/nats-blob-store.ts';
import { ClusterMetrics } from './cluster-metrics.ts';
import { Placement } from './placement.ts';
import { createEntryRouter } from './entry-router.ts';
import { LOCK_NAMESPACE, StoreLock } from './store-lock.ts';
import { KvAuditAnchor } from './kv-audit-anchor.ts';
import { KvDevSessions } from './kv-dev-sessions.ts';
import type { DevSessionStore, SessionSettings } from '../dev/dev-session-store.ts';

export interface ClusterServices {
  nats: NatsCluster;
  bus: NatsEventBus;
  logs: NatsLogFeed;
  blobs: NatsBlobStore;
  placement: Placement;
  tenantLock: StoreLock;
  bootstrapLock: StoreLock;
  metrics: ClusterMetrics;
  auditAnchor: KvAuditAnchor;
  /** Dev sessions shared by every node (kv-dev-sessions.ts); `settings` reads the dev policy. */
  devSessions(settings: () => SessionSettings): DevSessionStore;
  entryRouter(local: EntryProxy, pipeline: InstallPipeline): EntryProxy;
}

export type { ClusterTuning };

/** What the cluster promises after a node dies (kill -9, crash): another node serves within this. */
export const FAILOVER_BOUND_SECONDS = 5;

export async function openClusterServices(input: {
  env: ClusterEnv;
  db: Db;
  paths: CorePaths;
  log: Logger;
  metrics: CoreMetrics;
  retentionDays: number;
  url: () => string;
  tuning?: ClusterTuning;
  /** The audit key: the shared anchor carries a keyed hash like the file anchor. */
  auditKey: Buffer;
}): Promise<ClusterServices | undefined> {
  const { env } = input;
  if (!env.natsUrl) return undefined;
  const leaseTtlMs = input.tuning?.leaseTtlMs ?? 3000;
  const nats = await connectNatsCluster({
    url: env.natsUrl,
    prefix: env.natsPrefix,
    retentionDays: input.retentionDays,
    leaseTtlMs,
    name: env.nodeId,
  });
  try {
    const bus = await NatsEventBus.start(nats, env.nodeId, (error, event) =>
      input.log.warn({ err: error, type: event.type }, 'event handler failed'),
    );
    const metrics = new ClusterMetrics(input.metrics.registry, env.nodeId);
    const reconcileMs = input.tuning?.reconcileMs ?? 500;
    const placement = new Placement({
      nats,
      db: input.db,
      bus,
      paths: input.paths,
      log: input.log,
      metrics,
      nodeId: env.nodeId,
      url: () => env.advertiseUrl ?? input.url(),
      reconcileMs,
      drainMs: input.tuning?.drainMs,
    });
    return {
      nats,
      bus,
      logs: new NatsLogFeed(nats),
      blobs: new NatsBlobStore(nats, input.paths.blobs),
      placement,
      tenantLock: new StoreLock(input.db, LOCK_NAMESPACE.tenant),
      bootstrapLock: new StoreLock(input.db, LOCK_NAMESPACE.bootstrap),
      metrics,
      auditAnchor: new KvAuditAnchor(nats.audit, input.auditKey),
      devSessions: (settings) => new KvDevSessions(nats.devSessions, settings),
      entryRouter: (local, pipeline) =>
        createEntryRouter({
          nodeId: env.nodeId,
          local,
          servingInstance: (t, p) => pipeline.servingInstance(t, p),
          owner: (t, p) => placement.owner(t, p),
          refreshOwner: (t, p) => placement.refreshOwner(t, p),
          ownerUnreachable: (t, p) => placement.ownerUnreachable(t, p),
          metrics,
          // A killed node is found gone at once (node-liveness.ts); the TTL only bounds partitions.
          takeoverSeconds: FAILOVER_BOUND_SECONDS,
        }),
    };
  } catch (error) {
    await nats.close();
    throw error;
  }
}
