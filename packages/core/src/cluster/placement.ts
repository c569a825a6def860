/**
 * Which node serves which plugin. Each serving (tenant, plugin) has one lease in NATS KV; the
 * holder runs the instance, every other node forwards the entry point to it (entry-router.ts).
 *
 * - A node that switches a plugin to a new instance (install, upgrade, dev reload, rollback,
 *   reconfigure — through whichever node got the request) takes the lease; the previous holder
 *   is told, keeps serving what reaches it until the new holder is `ready`, then drains and stops.
 * - Every node reconciles every `reconcileMs`: a plugin whose holder is gone, or that is offered
 *   (`handover`), is taken by the first node to write the lease, which starts it from the shared
 *   blob. Plugins uninstalled elsewhere are stopped here.
 * - A dead holder is found by asking it (node-liveness.ts: "no responders" the moment its NATS
 *   connection closed) at each reconcile, and at once when a forward to it fails; the lease is
 *   then replaced compare-and-set on the revision read before asking. The lease TTL is the
 *   backstop for what the probe cannot tell (a partition, a host gone without closing sockets).
 * - On SIGTERM a node offers all its leases and waits until others serve them (drain).
 */
import type { BusEventName } from '@powerx/protocol';
import type { Logger } from 'pino';
import type { Db } from '../storage/schema.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { InstallPipeline } from '../install/install-pipeline.ts';
import type { CorePaths } from '../config/core-paths.ts';
import { LeaseTable, leaseKey, type LeaseValue } from './leases.ts';
import { NodeRegistry } from './node-registry.ts';
import { NodeLiveness } from './node-liveness.ts';
import { offerLeases, sleep, untilServedElsewhere } from './handover.ts';
import type { NatsCluster } from './nats-cluster.ts';
import type { PlacementHooks } from './placement-hooks.ts';
import type { ClusterMetrics } from './cluster-metrics.ts';
import { removeLocalFiles, uninstallDropsData } from '../install/uninstall-record.ts';
import { PluginRepository } from '../plugins/plugin-repository.ts';
import { FailoverAttempts, type FailoverDecision } from './failover-attempts.ts';

export const UNINSTALLED_EVENT = 'cluster.plugin.uninstalled' satisfies BusEventName;

/** How long a node must stay gone before its unfinished installs are rolled back (a reconnect blip is not a death). */
const INSTALL_ROLLBACK_CONFIRM_MS = 1000;

/**
 * How long a plugin must stay without a lease before a node claims it. A switch commits the
 * plugin's row before its node takes the lease (switch-transaction.ts): a first install seen in
 * between is that node's, and starting it here too would serve it twice for a while.
 */
export const LEASELESS_CONFIRM_MS = 1000;

/**
 * Plugins one node starts at once when taking over; beyond, it claims no more and leaves them to
 * the other survivors (or its next reconcile), so a dead node's plugins spread over the cluster.
 */
const TAKEOVER_CONCURRENCY = 4;

/** How a dead holder was noticed (px_cluster_failover_detections_total{reason}). */
type Detection = 'liveness' | 'entry_unreachable' | 'lease_expired';

/** A plugin this node places, with the key of its serve lease. */
interface PlacedPlugin {
  key: string;
  tenant: string;
  pluginId: string;
}

/**
 * Why this node starts a plugin it did not serve: its own lease with nothing running (restart),
 * a holder that is gone (failover, with what failover-attempts.ts decided), or a draining holder
 * offering it (handover).
 */
type Takeover =
  | { reason: 'restart' }
  | { reason: 'failover'; decision: FailoverDecision }
  | { reason: 'handover'; offeredBy: LeaseValue };

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
  readonly #liveness: NodeLiveness;
  readonly #failovers: FailoverAttempts;
  readonly #plugins: PluginRepository;
  #pipeline: InstallPipeline | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  /** A reconcile was asked for while one ran: run another after it (it may have passed the key). */
  #reconcileAgain = false;
  #unsubscribe: (() => void) | undefined;
  #stopping = false;
  /** Keys whose instance is being started here (takeover), so a reconcile does not start it twice. */
  readonly #starting = new Set<string>();
  /** Takeovers running (started in the background so one slow plugin start delays no other). */
  readonly #takeovers = new Set<Promise<void>>();
  /** Keys of installed plugins seen without a lease, and since when (LEASELESS_CONFIRM_MS). */
  readonly #leaseless = new Map<string, number>();

  constructor(options: PlacementOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
    const renewMs = Math.max(100, Math.floor(options.nats.leaseTtlMs / 4));
    this.#leases = new LeaseTable(options.nats.leases, {
      nodeId: options.nodeId,
      url: options.url,
      renewMs,
      ttlMs: options.nats.leaseTtlMs,
      onLost: (key, now, expired) => this.#lost(key, now, expired),
    });
    this.#nodes = new NodeRegistry(
      options.nats.nodes,
      { node: options.nodeId, url: options.url },
      options.nats.leaseTtlMs,
    );
    this.#liveness = new NodeLiveness(options.nats.nc, options.nats.names, options.nodeId);
    this.#failovers = new FailoverAttempts(options.db, options.nodeId);
    this.#plugins = new PluginRepository(options.db);
  }

  /** Starts heartbeats, lease renewals and reconciling; the pipeline must be recovered first. */
  async start(pipeline: InstallPipeline): Promise<void> {
    this.#pipeline = pipeline;
    // Answer pings before holding anything: others must never find a holder without a responder.
    await this.#liveness.serve();
    await this.#leases.start();
    await this.#nodes.start(Math.max(100, Math.floor(this.#o.nats.leaseTtlMs / 4)));
    this.#unsubscribe = this.#o.bus.subscribe(UNINSTALLED_EVENT, (event) => {
      const p = event.payload as { tenant: string; pluginId: string; keepData: boolean; node: string };
      if (p.node !== this.nodeId) void this.#dropLocal(p.tenant, p.pluginId, p.keepData);
    });
    await this.reconcile();
    const every = this.#o.reconcileMs ?? 500;
    // A tick while a pass runs is skipped (not queued): a slow pass must not turn into a busy loop.
    this.#timer = setInterval(() => void (this.#reconciling ?? this.reconcile()), every);
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
    await this.#failovers.clear(tenant, pluginId);
  }

  async uninstalled(tenant: string, pluginId: string, keepData: boolean): Promise<void> {
    await this.#leases.remove(leaseKey('serve', tenant, pluginId));
    await this.#o.bus.publish(UNINSTALLED_EVENT, { tenant, pluginId, keepData, node: this.nodeId });
    this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
  }

  async abandoned(nodeId: string | null): Promise<boolean> {
    if (nodeId === null || nodeId === this.nodeId) return true;
    return (
      (await this.#liveness.goneFor(nodeId, INSTALL_ROLLBACK_CONFIRM_MS)) || !this.#nodes.alive().has(nodeId)
    );
  }

  /**
   * The entry router could not reach the plugin's holder: ask the holder's node whether it is
   * still there, and take the plugin over at once if not (instead of at the next reconcile).
   */
  async ownerUnreachable(tenant: string, pluginId: string): Promise<void> {
    const key = leaseKey('serve', tenant, pluginId);
    if (this.#stopping || !this.#pipeline || this.#starting.has(key)) return;
    const lease = await this.#leases.read(key);
    if (lease && lease.value.node !== this.nodeId)
      await this.#claimIfGone(key, tenant, pluginId, lease, 'entry_unreachable');
  }

  // ------------------------------------------------------------------ reconciling

  reconcile(): Promise<void> {
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return this.#reconciling;
    }
    this.#reconciling = (async () => {
      do {
        this.#reconcileAgain = false;
        await this.#reconcileOnce().catch((error: unknown) =>
          this.#o.log.warn({ err: error }, 'cluster reconcile failed'),
        );
      } while (this.#reconcileAgain && !this.#stopping);
    })().finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  async #reconcileOnce(): Promise<void> {
    const pipeline = this.#pipeline;
    if (!pipeline || this.#stopping) return;
    // Heartbeats outlive a killed node by a TTL; its liveness subject does not.
    let alive = 0;
    for (const node of this.#nodes.alive().keys()) if ((await this.#liveness.probe(node)) !== 'gone') alive++;
    this.#o.metrics.nodesAlive.set(alive);
    await pipeline.rollBackAbandoned().then(
      (n) => this.#o.metrics.installsRolledBack.inc(n),
      (error: unknown) => this.#o.log.warn({ err: error }, 'rolling back installs of a gone node failed'),
    );
    const plugins = await this.#o.db
      .selectFrom('plugins')
      .select(['tenant_id', 'plugin_id', 'status'])
      .execute();
    const installed = new Set(plugins.map((p) => `${p.tenant_id}\0${p.plugin_id}`));
    for (const p of plugins) {
      if (this.#stopping) return;
      await this.#place(p.tenant_id, p.plugin_id, p.status === 'failed');
    }
    const keys = new Set(plugins.map((p) => leaseKey('serve', p.tenant_id, p.plugin_id)));
    for (const key of this.#leaseless.keys()) if (!keys.has(key)) this.#leaseless.delete(key);
    // Served here but uninstalled meanwhile (the uninstall event may have been missed, or never
    // sent: its node died first). Even under a lease held here; asked again, as a switch-in may
    // have installed it since the read above.
    for (const { tenant, pluginId } of pipeline.servedPlugins())
      if (!installed.has(`${tenant}\0${pluginId}`) && !(await this.#plugins.isInstalled(tenant, pluginId))) {
        await this.#leases.release(leaseKey('serve', tenant, pluginId));
        await this.#dropLocal(
          tenant,
          pluginId,
          (await uninstallDropsData(this.#o.db, tenant, pluginId)) !== true,
        );
      }
    this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
  }

  /** One plugin at a reconcile: start it here if its lease is ours without an instance, free, offered or its holder gone. */
  async #place(tenant: string, pluginId: string, failed: boolean): Promise<void> {
    const key = leaseKey('serve', tenant, pluginId);
    if (this.#starting.has(key) || this.#starting.size >= TAKEOVER_CONCURRENCY) return;
    const lease = await this.#leases.read(key);
    const holder = lease?.value;
    if (lease) this.#leaseless.delete(key);
    if (holder?.node === this.nodeId) {
      // Ours (this node restarted under the same id, or renewals resumed after a cut) but nothing
      // runs here: start it.
      if (this.#pipeline!.servingInstance(tenant, pluginId)) return;
      if (this.#leases.holds(key) || (await this.#leases.acquire(key, 'starting')))
        this.#launch({ key, tenant, pluginId }, { reason: 'restart' });
      return;
    }
    if (!lease) {
      if (failed) return;
      const since = this.#leaseless.get(key) ?? this.#leaseless.set(key, performance.now()).get(key)!;
      if (performance.now() - since < LEASELESS_CONFIRM_MS) return;
      const decision = await this.#failoverDecision(tenant, pluginId);
      if (decision !== 'wait' && (await this.#leases.acquire(key, 'starting'))) {
        this.#o.metrics.failoverDetections.inc({ reason: 'lease_expired' });
        this.#launch({ key, tenant, pluginId }, { reason: 'failover', decision });
      }
      return;
    }
    if (await this.#claimIfGone(key, tenant, pluginId, lease, 'liveness')) return;
    if (
      holder!.state === 'handover' &&
      (await this.#leases.replace(key, lease.revision, 'starting', holder!.url))
    )
      this.#launch({ key, tenant, pluginId }, { reason: 'handover', offeredBy: holder! });
  }

  /**
   * Takes the plugin over if the lease's holder is gone: compare-and-set on the revision read
   * before the probe, so a holder that renewed meanwhile (it was alive) or another node that
   * claimed it first wins. True when this node took it.
   */
  async #claimIfGone(
    key: string,
    tenant: string,
    pluginId: string,
    lease: { value: LeaseValue; revision: number },
    detection: Detection,
  ): Promise<boolean> {
    if ((await this.#liveness.probe(lease.value.node)) !== 'gone') return false;
    if (this.#stopping || this.#starting.has(key) || this.#starting.size >= TAKEOVER_CONCURRENCY)
      return false;
    const decision = await this.#failoverDecision(tenant, pluginId);
    if (decision === 'wait') return false;
    // A dead holder that was itself taking over still has its predecessor serving: keep routing there.
    const prevUrl = lease.value.state === 'starting' ? lease.value.prevUrl : undefined;
    if (!(await this.#leases.replace(key, lease.revision, 'starting', prevUrl))) return false;
    this.#o.metrics.failoverDetections.inc({ reason: detection });
    this.#o.log.warn(
      { tenant, pluginId, gone: lease.value.node, detection },
      'the node serving a plugin is gone',
    );
    this.#launch({ key, tenant, pluginId }, { reason: 'failover', decision });
    return true;
  }

  /** Whether this node may start a plugin whose holder is gone now (failover-attempts.ts). */
  #failoverDecision(tenant: string, pluginId: string): Promise<FailoverDecision> {
    return this.#failovers.decide(tenant, pluginId, this.#nodes.alive().keys());
  }

  #launch(target: PlacedPlugin, takeover: Takeover): void {
    const { key, tenant, pluginId } = target;
    this.#starting.add(key);
    const run: Promise<void> = this.#takeOver(target, takeover)
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error, tenant, pluginId }, 'taking a plugin over failed'),
      )
      .finally(() => {
        this.#starting.delete(key);
        this.#takeovers.delete(run);
      });
    this.#takeovers.add(run);
  }

  /**
   * Starts the plugin here under the lease just taken. A handover (`offeredBy`, the draining
   * holder, still serves the active version) starts that version only; if it does not come up
   * here (a loaded machine missing the health deadline), the lease goes back to the draining
   * node, which keeps serving until another attempt succeeds — the plugin is not marked failed.
   * A failover (the holder is gone) is retried a bounded number of times, here or on another
   * node, before its last attempt's failure marks the plugin failed (failover-attempts.ts).
   */
  async #takeOver({ key, tenant, pluginId }: PlacedPlugin, takeover: Takeover): Promise<void> {
    const { reason } = takeover;
    const offeredBy = takeover.reason === 'handover' ? takeover.offeredBy : undefined;
    const failover = takeover.reason === 'failover' ? takeover.decision : undefined;
    const started = performance.now();
    this.#o.log.warn({ tenant, pluginId, reason }, 'taking a plugin over');
    const activeOnly = !!offeredBy || failover === 'try';
    // A failover's failure is marked by failover-attempts.ts, with the attempts it made.
    const ok = await this.#pipeline!.startServingPlugin(tenant, pluginId, {
      activeOnly,
      markFailed: !failover,
    }).catch((error: unknown) => {
      // Not a verdict on the plugin (the store or NATS failed us): free the lease for another try.
      this.#o.log.warn({ err: error, tenant, pluginId, reason }, 'could not start a plugin taken over');
      return undefined;
    });
    if (ok === undefined) {
      if (offeredBy) await this.#leases.giveBack(key, offeredBy);
      else await this.#leases.release(key);
      return;
    }
    if (!ok && offeredBy) {
      this.#o.log.warn({ tenant, pluginId, from: offeredBy.node }, 'handover start failed: lease given back');
      await this.#leases.giveBack(key, offeredBy);
      return;
    }
    if (!ok && failover) {
      const exhausted = await this.#failovers.failedStart(
        tenant,
        pluginId,
        failover === 'final',
        this.#o.log,
      );
      if (exhausted)
        await this.#pipeline!.failPlugin(tenant, pluginId, exhausted.failure, {
          attempts: exhausted.attempts,
        });
      await this.#leases.release(key);
      return;
    }
    if (!ok) {
      // Marked failed by the pipeline; keep nobody waiting on a lease no instance backs.
      await this.#leases.release(key);
      return;
    }
    if (failover) await this.#failovers.clear(tenant, pluginId);
    if (await this.#leases.set(key, 'ready')) {
      const seconds = (performance.now() - started) / 1000;
      this.#o.metrics.takeovers.inc({ reason });
      this.#o.metrics.takeoverSeconds.observe(seconds);
      this.#o.log.info({ tenant, pluginId, reason, seconds }, 'took a plugin over');
    } else if (!this.#leases.holds(key)) {
      // Taken meanwhile (the node that switched a new version in): nobody routes here, and the
      // loss was announced before this instance served, so nothing else would stop it.
      await this.#pipeline!.stopServingPlugin(tenant, pluginId, 'served by another node');
    }
  }

  /**
   * Another node took the lease: keep serving until it is ready, give routers time, then stop.
   * Expired (no renewal reached NATS for a TTL): another node may run the plugin already and this
   * one cannot tell — stop at once, a reconcile takes it again once NATS is back and nobody has it.
   */
  #lost(key: string, _now: LeaseValue | undefined, expired: boolean): void {
    this.#o.metrics.leasesLost.inc();
    const served = this.#pipeline
      ?.servedPlugins()
      .find((p) => leaseKey('serve', p.tenant, p.pluginId) === key);
    if (!served) return;
    if (expired) {
      this.#o.log.warn({ ...served }, 'lease not renewed for a TTL (NATS out of reach): stopping the plugin');
      void this.#pipeline?.stopServingPlugin(served.tenant, served.pluginId, 'lease expired');
      return;
    }
    void (async () => {
      if ((await untilServedElsewhere(this.#leases, key, () => this.#reclaim(key, served))) === 'kept')
        return;
      await sleep(this.#o.drainMs ?? 1500);
      if (this.#leases.holds(key)) return;
      await this.#pipeline?.stopServingPlugin(served.tenant, served.pluginId, 'served by another node');
      this.#o.metrics.leasesHeld.set(this.#leases.heldKeys().length);
    })().catch((error: unknown) => this.#o.log.warn({ err: error, key }, 'handing a plugin over failed'));
  }

  /**
   * Holds a lease again that came back to this node (given back, or let go with nobody serving)
   * while it still serves the plugin; false if the plugin is uninstalled or another node has it.
   * Compare-and-set on what was read: a new taker that wrote meanwhile keeps it.
   */
  async #reclaim(key: string, served: { tenant: string; pluginId: string }): Promise<boolean> {
    if (!(await this.#plugins.isInstalled(served.tenant, served.pluginId))) return false;
    const state = this.#stopping ? 'handover' : 'ready';
    const lease = await this.#leases.read(key);
    const ok = !lease
      ? await this.#leases.acquire(key, state)
      : lease.value.node === this.nodeId && (await this.#leases.replace(key, lease.revision, state));
    if (ok) this.#o.log.warn({ ...served, state }, 'lease back on this node: serving on');
    return ok;
  }

  /** Uninstalled elsewhere: stop serving it here and drop this node's files of it. */
  async #dropLocal(tenant: string, pluginId: string, keepData: boolean): Promise<void> {
    await this.#pipeline?.stopServingPlugin(tenant, pluginId, 'uninstalled');
    // Clean-up of a plugin gone already: a failure must neither end the node (the event handler
    // does not wait for it) nor stop the reconcile pass; the start-up sweep finishes it.
    await removeLocalFiles(this.#o.paths, tenant, pluginId, keepData).catch((error: unknown) =>
      this.#o.log.warn(
        { err: error, tenant, pluginId },
        'could not remove the local files of a plugin uninstalled elsewhere',
      ),
    );
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * SIGTERM: offer every lease (`handover`), wait until other nodes serve them (their instances
   * ready, routers caught up), then stop (handover.ts). Alone in the cluster, nothing can take
   * over: stop at once.
   */
  async drain(timeoutMs = 90_000): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#reconciling;
    // A takeover in flight finishes first: its lease is then offered like the others.
    await Promise.all(this.#takeovers);
    const held = this.#leases.heldKeys();
    // Heartbeats outlive a killed node by a TTL: ask each one, or this node waits for a dead taker.
    const others: string[] = [];
    for (const node of this.#nodes.alive().keys())
      if (node !== this.nodeId && (await this.#liveness.probe(node)) !== 'gone') others.push(node);
    if (!held.length || !others.length) return;
    await offerLeases(this.#leases, held, timeoutMs);
    // Requests already routed here finish; routers have switched to the new holders.
    await sleep(this.#o.drainMs ?? 1500);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#reconciling;
    await Promise.all(this.#takeovers);
    await this.#leases.stop();
    await this.#nodes.stop();
    this.#liveness.stop();
  }
}
