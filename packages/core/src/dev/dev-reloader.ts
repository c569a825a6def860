/**
 * One dev reload that reached the install pipeline: the SAME pipeline as uploads (shared checks,
 * new instance next to the old one, health gate, atomic switch, old one drained), then a grace
 * window in which a crash of the new version puts the last stable one back.
 */
import { PxError, type DevReload, type DevSession } from '@powerx/protocol';
import type { CoreServicesWithoutDev } from '../core-services.ts';
import type { Principal } from '../identity/principal.ts';
import type { LogHub } from '../logs/log-hub.ts';
import type { DevReloadHistory } from './dev-reload-history.ts';
import type { Lane, ReloadLanes } from './reload-lanes.ts';
import type { ReloadReporter } from './reload-reporter.ts';
import { timingsFrom } from './reload-timings.ts';

export interface ReloadJob {
  id: string;
  tenant: string;
  pluginId: string;
  version: string;
  contentSha256: string;
  at: string;
  session: DevSession;
  pxp: string;
  bytes: number;
  pushMs: number;
  t0: number;
}

export class DevReloader {
  readonly #s: CoreServicesWithoutDev;
  readonly #hub: LogHub;
  readonly #reloads: DevReloadHistory;
  readonly #lanes: ReloadLanes;
  readonly #report: ReloadReporter;
  readonly #graceMs: number;
  readonly #watches = new Set<Promise<void>>();

  constructor(d: {
    s: CoreServicesWithoutDev;
    hub: LogHub;
    reloads: DevReloadHistory;
    lanes: ReloadLanes;
    report: ReloadReporter;
    graceMs: number;
  }) {
    this.#s = d.s;
    this.#hub = d.hub;
    this.#reloads = d.reloads;
    this.#lanes = d.lanes;
    this.#report = d.report;
    this.#graceMs = d.graceMs;
  }

  /** Waits for the grace watches still running (shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#watches]);
  }

  async run(p: Principal, lane: Lane, r: ReloadJob): Promise<DevReload> {
    const { tenant, pluginId } = r;
    await this.#s.bus.publish('plugin.dev.reload.started', {
      tenant,
      plugin: pluginId,
      version: r.version,
      reload: r.id,
      session: r.session.id,
    });
    const row = await this.#s.pipeline.startUploadInstall({
      principal: p,
      tenant,
      uploadPath: r.pxp,
      packageBytes: r.bytes,
      config: {},
      dev: true,
    });
    const settled = await this.#s.pipeline.waitSettled(row.id);
    const stages = await this.#s.pipeline.store.stages(row.id);
    const totalMs = performance.now() - r.t0;
    const t = timingsFrom(stages, r.pushMs, totalMs);
    const base = {
      id: r.id,
      tenant,
      pluginId,
      version: r.version,
      contentSha256: r.contentSha256,
      installId: row.id,
      at: r.at,
      timings: t,
      entryUrl: this.#s.entryUrl(tenant, pluginId),
    };
    if (settled.state === 'running') {
      const serving = this.#s.pipeline.servingInstance(tenant, pluginId);
      this.#report.logLine(
        tenant,
        pluginId,
        'info',
        `dev reload: version ${r.version} (${r.contentSha256.slice(0, 12)}) serving in ${Math.round(totalMs)} ms`,
        { reload: r.id, installId: row.id, timings: t },
        serving?.id,
      );
      this.#hub.publishReload(tenant, pluginId, {
        at: new Date().toISOString(),
        version: r.version,
        result: 'running',
        durationMs: Math.round(totalMs),
      });
      await this.#reloads.record(tenant, pluginId, {
        id: r.id,
        at: r.at,
        version: r.version,
        installId: row.id,
        durationMs: Math.round(totalMs),
        result: 'running',
      });
      await this.#s.audit.append({
        actor: p.username,
        tenant,
        action: 'plugin.dev.reload',
        target: pluginId,
        outcome: 'ok',
        details: {
          reload: r.id,
          installId: row.id,
          version: r.version,
          contentSha256: r.contentSha256,
          unsigned: true,
          durationMs: Math.round(totalMs),
        },
      });
      await this.#s.bus.publish('plugin.dev.reloaded', {
        tenant,
        plugin: pluginId,
        version: r.version,
        reload: r.id,
        installId: row.id,
        durationMs: Math.round(totalMs),
        timings: t,
      });
      // 4. Grace window: the lane stays busy (a newer build cuts it short) and the answer goes out now.
      lane.held = true;
      const watch = this.#graceWatch(p, lane, r, row.id, serving?.id, totalMs).finally(() => {
        this.#watches.delete(watch);
        this.#lanes.done(lane);
      });
      this.#watches.add(watch);
      return { ...base, result: 'running', serving: { version: r.version, installId: row.id } };
    }
    // Failed before the switch: the pipeline rolled back, the last stable version never stopped serving.
    const error = {
      code: settled.error_code ?? 'INTERNAL',
      message: settled.error_message ?? 'the reload failed',
      hint: settled.error_hint ?? '',
      ...(settled.error_stage ? { stage: settled.error_stage } : {}),
    };
    const serving = await this.#report.servingView(tenant, pluginId);
    await this.#report.failed(p, { ...r, installId: row.id, totalMs, error, serving, restored: false });
    return { ...base, result: 'failed', error, ...(serving ? { serving } : {}) };
  }

  /** Watches the new instance for `graceMs`; a crash puts the last stable version back. */

  async #graceWatch(
    p: Principal,
    lane: Lane,
    r: { id: string; tenant: string; pluginId: string; version: string; t0: number },
    installId: string,
    instanceId: string | undefined,
    switchedMs: number,
  ): Promise<void> {
    const { tenant, pluginId } = r;
    let cut = false;
    let wake: () => void = () => {};
    lane.cutGrace = () => {
      cut = true;
      wake();
    };
    const deadline = Date.now() + this.#graceMs;
    let crash: string | undefined;
    // While this watch runs it alone decides about a failure of the new instance; core's automatic
    // rollback (install/serving-failures.ts) handles any failure it leaves unhandled (release(false)).
    const release = instanceId
      ? this.#s.pipeline.holdServingFailures(tenant, pluginId, instanceId)
      : () => {};
    while (!cut && !this.#lanes.closed && Date.now() < deadline) {
      const inst = this.#s.pipeline.servingInstance(tenant, pluginId);
      if (!inst || inst.id !== instanceId) break; // replaced or uninstalled meanwhile
      if (inst.state !== 'ready' || inst.restarts > 0) {
        crash = inst.failure?.message ?? `the instance went ${inst.state} (${inst.restarts} restarts)`;
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50).unref();
      });
    }
    release(crash !== undefined);
    if (!crash) {
      // Counted only now: a version that crashes in its grace window is a failed reload.
      this.#s.metrics.recordDevInstall(tenant, true, switchedMs / 1000);
      return;
    }
    const afterMs = Math.round(this.#graceMs - (deadline - Date.now()));
    const tail = await this.#report.lastErrorLine(tenant, pluginId, instanceId);
    const error = new PxError('DEV_CRASHED_AFTER_SWITCH', {
      version: r.version,
      afterMs,
      detail: tail ?? crash,
    }).toJSON();
    const plugin = await this.#s.plugins.get(tenant, pluginId);
    let restored = false;
    if (plugin?.last_stable_install_id) {
      try {
        const row = await this.#s.pipeline.rollbackToStable(p, tenant, pluginId);
        restored = (await this.#s.pipeline.waitSettled(row.id)).state === 'running';
      } catch (e) {
        this.#s.log.warn({ err: e, tenant, pluginId }, 'dev rollback after a crash failed');
      }
    }
    const serving = await this.#report.servingView(tenant, pluginId);
    await this.#report.failed(p, {
      ...r,
      installId,
      totalMs: performance.now() - r.t0,
      error: { ...error, stage: 'after_switch' },
      serving,
      restored,
    });
  }
}
