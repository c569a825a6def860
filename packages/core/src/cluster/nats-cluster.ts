/**
 * One NATS connection per node and the JetStream resources the cluster shares, created on first
 * use by whichever node starts first (creating an existing stream or bucket with the same
 * settings is a no-op):
 * - `<prefix>_events`  stream of bus events, every node consumes all of them;
 * - `<prefix>_logs`    stream of plugin and dev log lines, one subject per (tenant, plugin),
 *                      `max_age` = the log retention (the retention is a property of the stream);
 * - `<prefix>_leases`  KV bucket of instance placement leases, TTL = lease TTL;
 * - `<prefix>_devsessions` KV bucket of dev sessions (no TTL: their idle timeout is the dev
 *                      policy's, kept in each value; kv-dev-sessions.ts);
 * - `<prefix>_nodes`   KV bucket of node heartbeats (who is alive, where to reach it);
 * - `<prefix>_blobs`   object store of package blobs, so any node can rebuild a version folder;
 * - `<prefix>_audit`   KV bucket (no TTL) holding the audit head anchor (kv-audit-anchor.ts).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { NatsNames } from './nats-names.ts';

export interface NatsClusterOptions {
  url: string;
  prefix: string;
  /** Plugin log retention (the log stream's max_age). */
  retentionDays: number;
  /** How long a lease lives without renewal. */
  leaseTtlMs: number;
  /** Connection name shown by the NATS server (the node id). */
  name?: string;
}

export interface NatsCluster {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: NatsNames;
  leases: KV;
  nodes: KV;
  blobs: ObjectStore;
  audit: KV;
  devSessions: KV;
  leaseTtlMs: number;
  close(): Promise<void>;
  /** Deletes every stream and bucket of the prefix (tests and CI clean-up only). */
  destroy(): Promise<void>;
}

const NS_PER_MS = 1_000_000;

export async function connectNatsCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  const nc = await connect({
    servers: options.url,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const names = new NatsNames(options.prefix);
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureStream(jsm, {
      name: names.eventsStream,
      subjects: [names.eventsWildcard],
      max_age: 24 * 3_600_000 * NS_PER_MS,
    });
    await ensureStream(jsm, {
      name: names.logsStream,
      subjects: [names.logsWildcard],
      max_age: Math.round(options.retentionDays * 86_400_000) * NS_PER_MS,
      allow_direct: true,
    });
    const kvm = new Kvm(nc);
    const leases = await kvm.create(names.leasesBucket, { ttl: options.leaseTtlMs, history: 1 });
    const nodes = await kvm.create(names.nodesBucket, { ttl: options.leaseTtlMs, history: 1 });
    const blobs = await new Objm(nc).create(names.blobsBucket);
    const audit = await kvm.create(names.auditBucket, { history: 1 });
    const devSessions = await kvm.create(names.devSessionsBucket, { history: 1 });
    return {
      nc,
      js,
      jsm,
      names,
      leases,
      nodes,
      blobs,
      audit,
      devSessions,
      leaseTtlMs: options.leaseTtlMs,
      async close() {
        await nc.drain().catch(() => nc.close());
      },
      async destroy() {
        await leases.destroy().catch(() => {});
        await nodes.destroy().catch(() => {});
        await blobs.destroy().catch(() => {});
        await audit.destroy().catch(() => {});
        await devSessions.destroy().catch(() => {});
        for (const stream of [names.eventsStream, names.logsStream])
          await jsm.streams.delete(stream).catch(() => {});
      },
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: { name: string; subjects: string[]; max_age: number; allow_direct?: boolean },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    // Exists: keep its retention in step with this node's setting.
    await jsm.streams.update(config.name, { max_age: config.max_age });
  } catch (error) {
    if (!/not found/i.test((error as Error).message)) throw error;
    await jsm.streams.add(config).catch(async (e: Error) => {
      // Another node created it between our check and our add.
      if (!/already in use|exists/i.test(e.message)) throw e;
    });
  }
}
