/**
 * Which node serves which plugin. Each serving (tenant, plugin) has one lease in NATS KV; the
 * holder runs the instance, every other node forwards the entry point to it (entry-router.ts).
 *
 * - A node that switches a plugin to a new instance (install, upgrade, dev reload, rollback,
 *   reconfigure — through whichever node got the request) takes the lease; the previous holder
 *   is told, keeps serving what reaches it until the new holder is `ready`, then drains and stops.
 * - Every node reconciles every `reconcileMs`: a plugin whose lease is gone (its node died: the
 *   lease expired after one TTL) or offered (`handover`) is taken by the first node to write the
 *   lease, which starts it from the shared blob. Plugins uninstalled elsewhere are stopped here.
 * - On SIGTERM a node offers all its leases and waits until others serve them (drain).
 */
import type { BusEventName } from '@powerx/protocol';
import type { Logger } from 'pino';
import type { Db } from '../storage/schema.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { InstallPipeline } from '../install/install-pipeline.ts';
import type { CorePaths } from '../config/core-paths.ts';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LeaseTable, leaseKey, type LeaseValue } from './leases.ts';
import { NodeRegistry } from './node-registry.ts';
import type { NatsCluster } from './nats-cluster.ts';
import type { PlacementHooks } from './placement-hooks.ts';
import type { ClusterMetrics } from './cluster-metrics.ts';

export const UNINSTALLED_EVENT = 'cluster.plugin.uninstalled' satisfies BusEventName;

export interface PlacementOptions {
  nats: NatsCluster;
  db: Db;
  bus: EventBus;
  paths: CorePaths;
  log: Logger;
  metrics: ClusterMetrics;
  nodeId: string;
  /** Where other nodes reach this one (known once core listens). */
  url: () => string;
  reconcileMs?: number;
  /** How long a replaced holder keeps its instance after the new one is ready (routers catch up). */
  drainMs?: number;
}

export class Placement implements PlacementHooks {
  readonly nodeId: string;
  readonly #o: PlacementOptions;
  readonly #leases: LeaseTable;
  readonly #nodes: NodeRegistry;
  #pipeline: InstallPipeline | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopping = false;
  /** Keys whose instance is being started here (takeover), so a reconcile does not start it twice. */
  readonly #starting = new Set<string>();
  #alive = new Map<string, unknown>();
  #aliveAt = 0;

  constructor(options: PlacementOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
    const renewMs = Math.max(100, Math.floor(options.nats.leaseTtlMs / 4));
    this.#leases = new LeaseTable(options.nats.leases, {
      nodeId: options.nodeId,
      url: options.url,
      renewMs,
      onLost: (key, now) => this.#lost(key, now),
    });
    this.#nodes = new NodeRegistry(options.nats.nodes, { node: options.nodeId, url: options.url });
  }

  /** Starts heartbeats, lease renewals and reconciling; the pipeline must be recovered first. */
  async start(pipeline: InstallPipeline): Promise<void> {
    this.#pipeline = pipeline;
    await this.#leases.start();
    await this.#nodes.start(Math.max(100, Math.floor(this.#o.nats.leaseTtlMs / 4)));
    this.#unsubscribe = this.#o.bus.subscribe(UNINSTALLED_EVENT, (event) => {
      const p = event.payload as { tenant: string; pluginId: string; keepData: boolean; node: string };
      if (p.node !== this.nodeId) void this.#dropLocal(p.tenant, p.pluginId, p.keepData);
    });
    await this.reconcile();
    const every = this.#o.reconcileMs ?? 500;
    this.#timer = setInterval(() => void this.reconcile(), every);
    this.#timer.unref();
  }

  /** The node serving a plugin, as this node knows it (kept fresh by a KV watch). */
  owner(tenant: string, pluginId: string): LeaseValue | undefined {
    return this.#leases.lookup(leaseKey('serve', tenant, pluginId));
  }

  /** Asks NATS (the cached value may name a node that died: expiries are not announced). */
  refreshOwner(tenant: string, pluginId: string): Promise<LeaseValue | undefined> {
    return this.#leases.refresh(leaseKey('serve', tenant, pluginId));
  }

  // ------------------------------------------------------------------ PlacementHooks

  async serving(tenant: string, pluginId: string): Promise<void> {
    const key = leaseKey('serve', tenant, pluginId);
    for (let attempt = 0; attempt < 5; attempt++) {
      if (
        this.#leases.holds(key)
          ? await this.#leases.set(key, 'ready')
          : await this.#leases.steal(key, 'ready')
      )
        break;
    }
    this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
  }

  async uninstalled(tenant: string, pluginId: string, keepData: boolean): Promise<void> {
    await this.#leases.remove(leaseKey('serve', tenant, pluginId));
    await this.#o.bus.publish(UNINSTALLED_EVENT, { tenant, pluginId, keepData, node: this.nodeId });
    this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
  }

  async abandoned(nodeId: string | null): Promise<boolean> {
    if (nodeId === null || nodeId === this.nodeId) return true;
    return !(await this.#aliveNodes()).has(nodeId);
  }

  // ------------------------------------------------------------------ reconciling

  reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcileOnce()
      .catch((error: unknown) => this.#o.log.warn({ err: error }, 'cluster reconcile failed'))
      .finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  async #reconcileOnce(): Promise<void> {
    const pipeline = this.#pipeline;
    if (!pipeline || this.#stopping) return;
    const alive = await this.#aliveNodes(true);
    this.#o.metrics.nodesAlive.set(alive.size);
    await pipeline
      .rollBackAbandoned()
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error }, 'rolling back installs of a gone node failed'),
      );
    const plugins = await this.#o.db
      .selectFrom('plugins')
      .select(['tenant_id', 'plugin_id', 'status'])
      .execute();
    const installed = new Set(plugins.map((p) => `${p.tenant_id}\0${p.plugin_id}`));
    for (const p of plugins) {
      if (this.#stopping) return;
      const key = leaseKey('serve', p.tenant_id, p.plugin_id);
      if (this.#starting.has(key)) continue;
      const holder = await this.#leases.refresh(key);
      const servedHere = pipeline.servingInstance(p.tenant_id, p.plugin_id);
      if (holder?.node === this.nodeId) {
        // Ours (e.g. this node restarted under the same id) but nothing runs here: start it.
        if (!servedHere && this.#leases.holds(key))
          await this.#takeOver(key, p.tenant_id, p.plugin_id, 'restart');
        continue;
      }
      if (p.status === 'failed' && !holder) continue;
      if (!holder && (await this.#leases.acquire(key, 'starting')))
        await this.#takeOver(key, p.tenant_id, p.plugin_id, 'failover');
      else if (holder?.state === 'handover' && (await this.#leases.steal(key, 'starting', holder.url)))
        await this.#takeOver(key, p.tenant_id, p.plugin_id, 'handover');
    }
    // Served here but uninstalled meanwhile (the uninstall event may have been missed, or never
    // sent: its node died first). Even under a lease held here; asked again, as a switch-in may
    // have installed it since the read above.
    for (const { tenant, pluginId } of pipeline.servedPlugins())
      if (!installed.has(`${tenant}\0${pluginId}`) && !(await this.#installed(tenant, pluginId))) {
        await this.#leases.release(leaseKey('serve', tenant, pluginId));
        await this.#dropLocal(tenant, pluginId, true);
      }
    this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
  }

  async #takeOver(key: string, tenant: string, pluginId: string, reason: string): Promise<void> {
    const started = performance.now();
    this.#starting.add(key);
    try {
      this.#o.log.warn({ tenant, pluginId, reason }, 'taking a plugin over');
      const ok = await this.#pipeline!.startServingPlugin(tenant, pluginId);
      if (ok && (await this.#leases.set(key, 'ready'))) {
        this.#o.metrics.takeovers.inc({ reason });
        this.#o.metrics.takeoverSeconds.observe((performance.now() - started) / 1000);
      } else if (!ok) {
        // Marked failed by the pipeline; keep nobody waiting on a lease no instance backs.
        await this.#leases.release(key);
      } else if (!this.#leases.holds(key)) {
        // Taken meanwhile (the node that switched a new version in): nobody routes here, and the
        // loss was announced before this instance served, so nothing else would stop it.
        await this.#pipeline!.stopServingPlugin(tenant, pluginId, 'served by another node');
      }
    } finally {
      this.#starting.delete(key);
    }
  }

  /** Another node took the lease: keep serving until it is ready, give routers time, then stop. */
  #lost(key: string, _now: LeaseValue | undefined): void {
    this.#o.metrics.leasesLost.inc();
    const served = this.#pipeline
      ?.servedPlugins()
      .find((p) => leaseKey('serve', p.tenant, p.pluginId) === key);
    if (!served) return;
    void (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const holder = this.#leases.lookup(key) ?? (await this.#leases.refresh(key).catch(() => undefined));
        if (this.#leases.holds(key)) return; // taken back meanwhile
        if (!holder || (holder.node !== this.nodeId && holder.state === 'ready') || Date.now() > deadline)
          break;
        await sleep(100);
      }
      await sleep(this.#o.drainMs ?? 1500);
      if (this.#leases.holds(key)) return;
      await this.#pipeline?.stopServingPlugin(served.tenant, served.pluginId, 'served by another node');
      this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
    })().catch((error: unknown) => this.#o.log.warn({ err: error, key }, 'handing a plugin over failed'));
  }

  async #installed(tenant: string, pluginId: string): Promise<boolean> {
    const row = await this.#o.db
      .selectFrom('plugins')
      .select('plugin_id')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    return !!row;
  }

  async #dropLocal(tenant: string, pluginId: string, keepData: boolean): Promise<void> {
    await this.#pipeline?.stopServingPlugin(tenant, pluginId, 'uninstalled');
    const root = this.#o.paths.pluginRoot(tenant, pluginId);
    await rm(keepData ? dirname(this.#o.paths.versionDir(tenant, pluginId, 'x')) : root, {
      recursive: true,
      force: true,
    });
  }

  async #aliveNodes(fresh = false): Promise<Map<string, unknown>> {
    if (fresh || Date.now() - this.#aliveAt > 1000) {
      this.#alive = await this.#nodes.alive();
      this.#aliveAt = Date.now();
    }
    return this.#alive;
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * SIGTERM: offer every lease (`handover`), wait until other nodes serve them (their instances
   * ready, routers caught up), then stop. Alone in the cluster, nothing can take over: stop.
   * The wait is bounded (a taker whose plugin never comes up must not keep this node forever).
   */
  async drain(timeoutMs = 90_000): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#reconciling;
    const held = this.#leases.heldKeys();
    const others = [...(await this.#aliveNodes(true)).keys()].filter((n) => n !== this.nodeId);
    if (!held.length || !others.length) return;
    for (const key of held) await this.#leases.set(key, 'handover');
    const deadline = Date.now() + timeoutMs;
    const taken = (holder: LeaseValue | undefined) =>
      !!holder && holder.node !== this.nodeId && holder.state === 'ready';
    let pending = held;
    while (pending.length && Date.now() < deadline) {
      await sleep(100);
      // Read the bucket itself, not only the watched copy: a missed watch update must not keep
      // this node waiting for the whole timeout.
      const still: string[] = [];
      for (const key of pending)
        if (
          !taken(this.#leases.lookup(key)) &&
          !taken(await this.#leases.refresh(key).catch(() => undefined))
        )
          still.push(key);
      pending = still;
    }
    // Requests already routed here finish; routers have switched to the new holders.
    await sleep(this.#o.drainMs ?? 1500);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#reconciling;
    await this.#leases.stop();
    await this.#nodes.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
