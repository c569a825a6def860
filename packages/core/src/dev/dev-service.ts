/**
 * Dev mode's orchestration (issue 5): a dev install / reload is
 *   copy the developer's build into core (path mode) or unpack the uploaded one
 *   → pack it, unsigned, into a .pxp (its SHA-256 is the content address of the version)
 *   → the SAME install pipeline as uploads (shared validator, tenant checks, new instance next
 *     to the old one, health gate, atomic switch of the entry point, old one drained)
 *   → a grace window in which a crash of the new version puts the last stable one back.
 *
 * Reloads of one (tenant, plugin) run one at a time in a "lane"; while one runs, only the newest
 * waiting build is kept (older waiting ones answer `superseded`): ten saves in a second start at
 * most two installs and never pile up processes. Every outcome is a bus event, a log line in the
 * plugin's own log (so `px-plugin dev`, `logs -f` and the Admin show it) and a reload marker on
 * the live channel; metrics count installs that reached the pipeline.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { extractPackage, packDirectory, readManifestSource } from '@powerx/package-format';
import {
  AccessError,
  PxError,
  isPxError,
  type DevReload,
  type DevReloadTimings,
  type DevSession,
  type DevSessionsList,
  type InstallStage,
  type Manifest,
} from '@powerx/protocol';
import type { CoreServicesWithoutDev } from '../core-services.ts';
import type { Principal } from '../identity/principal.ts';
import { LogHub } from '../logs/log-hub.ts';
import { resolveAllowedPath } from './dev-roots.ts';
import { assertDevPolicy } from './dev-policy-gate.ts';
import { unsignedAllowed } from '../config/dev-policy.ts';
import { DevSessions, type SessionHolder } from './dev-sessions.ts';
import { DevReloadHistory } from './dev-reload-history.ts';
import { snapshotBuild } from './snapshot-build.ts';

export type DevSource = { path: string } | { uploadPath: string; bytes: number };

export interface DevServiceOptions {
  /** Crash watch after a switch. Default: PX_DEV_GRACE_MS or 3 s. */
  graceMs?: number;
}

interface Waiting {
  run: () => Promise<void>;
  supersede: () => void;
}

interface Lane {
  busy: boolean;
  /** Set by a job that keeps the lane after answering (its grace watch releases it). */
  held?: boolean;
  waiting?: Waiting;
  /** Aborts the grace watch of the reload before: a newer build is about to replace it anyway. */
  cutGrace?: () => void;
  idle: Promise<void>;
  markIdle?: () => void;
}

export class DevService {
  readonly sessions: DevSessions;
  readonly hub: LogHub;
  /** Reload history per plugin for GET /api/plugins/dev/sessions (dev-reload-history.ts). */
  readonly reloads: DevReloadHistory;
  readonly #s: CoreServicesWithoutDev;
  readonly #graceMs: number;
  readonly #lanes = new Map<string, Lane>();
  readonly #watches = new Set<Promise<void>>();
  #closed = false;

  constructor(s: CoreServicesWithoutDev, opts: DevServiceOptions = {}) {
    this.#s = s;
    this.#graceMs = opts.graceMs ?? Number(process.env.PX_DEV_GRACE_MS ?? 3000);
    // Read from the policy at each use, so a re-read policy applies to the next heartbeat.
    this.sessions = new DevSessions(join(s.paths.dataDir, 'dev-sessions.json'), () => ({
      ttlMs: s.policy.current.sessions.idleTimeoutSeconds * 1000,
      maxPerUser: s.policy.current.sessions.maxPerUser,
    }));
    this.hub = new LogHub(s.logs);
    this.reloads = new DevReloadHistory(join(s.paths.dataDir, 'dev-reloads.json'));
  }

  get roots(): string[] {
    return [...this.#s.policy.current.roots];
  }

  async start(): Promise<void> {
    await this.sessions.load();
    await this.reloads.load();
    this.sessions.startExpiry((session) => void this.#expired(session));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const lane of this.#lanes.values()) {
      lane.waiting?.supersede();
      lane.waiting = undefined;
      lane.cutGrace?.();
    }
    await Promise.allSettled([...this.#watches]);
    await this.sessions.stop();
    await this.reloads.stop();
    this.hub.close();
  }

  requireDevMode(): void {
    if (!this.#s.devMode) throw new PxError('DEV_MODE_DISABLED');
  }

  async #access(p: Principal, tenant: string, action: string, target?: string): Promise<void> {
    this.requireDevMode();
    try {
      const view = await this.#s.tenants.assertDevAccess(p, tenant);
      assertDevPolicy(this.#s.policy.current, p, view.id, await this.#s.tenants.roleOf(tenant, p.userId));
    } catch (error) {
      if (error instanceof AccessError || isPxError(error)) {
        await this.#s.audit.append({
          actor: p.username,
          tenant,
          action,
          target: target ?? null,
          outcome: 'denied',
          details: { code: (error as PxError).code },
        });
      }
      throw error;
    }
  }

  // ---------------------------------------------------------------- sessions

  async openSession(
    p: Principal,
    tenant: string,
    pluginId: string,
    client: string | undefined,
  ): Promise<DevSession> {
    await this.#access(p, tenant, 'plugin.dev.session.open', pluginId);
    try {
      const session = await this.sessions.open(tenant, pluginId, holderOf(p, client));
      await this.#s.audit.append({
        actor: p.username,
        tenant,
        action: 'plugin.dev.session.open',
        target: pluginId,
        outcome: 'ok',
        details: { session: session.id, client: session.client },
      });
      await this.#s.bus.publish('plugin.dev.session.opened', {
        tenant,
        plugin: pluginId,
        session: session.id,
        user: p.username,
        client: session.client,
      });
      return session;
    } catch (error) {
      await this.#s.audit.append({
        actor: p.username,
        tenant,
        action: 'plugin.dev.session.open',
        target: pluginId,
        outcome: 'denied',
        details: { code: (error as PxError).code },
      });
      throw error;
    }
  }

  heartbeat(p: Principal, id: string): DevSession {
    this.requireDevMode();
    const session = this.sessions.get(id);
    if (!session || session.userId !== p.userId) throw new PxError('DEV_SESSION_NOT_FOUND', { session: id });
    return this.sessions.heartbeat(id);
  }

  /** Ctrl-C of `px-plugin dev`: ends the session and, unless kept, uninstalls the plugin. */
  async endSession(
    p: Principal,
    id: string,
    opts: { keep?: boolean; removeData?: boolean },
  ): Promise<{ uninstalled: boolean }> {
    this.requireDevMode();
    const session = this.sessions.get(id);
    if (!session || session.userId !== p.userId) throw new PxError('DEV_SESSION_NOT_FOUND', { session: id });
    let uninstalled = false;
    if (!opts.keep)
      uninstalled = await this.#uninstallIfInstalled(p, session.tenant, session.pluginId, !!opts.removeData);
    await this.sessions.end(id);
    await this.#s.audit.append({
      actor: p.username,
      tenant: session.tenant,
      action: 'plugin.dev.session.end',
      target: session.pluginId,
      outcome: 'ok',
      details: { session: id, keep: !!opts.keep, uninstalled },
    });
    await this.#s.bus.publish('plugin.dev.session.ended', {
      tenant: session.tenant,
      plugin: session.pluginId,
      session: id,
      keep: !!opts.keep,
    });
    return { uninstalled };
  }

  async #expired(session: DevSession): Promise<void> {
    await this.#s.audit
      .append({
        actor: 'system',
        tenant: session.tenant,
        action: 'plugin.dev.session.expired',
        target: session.pluginId,
        outcome: 'ok',
        details: {
          session: session.id,
          user: session.user,
          client: session.client,
          lastSeenAt: session.lastSeenAt,
        },
      })
      .catch(() => {});
    await this.#s.bus
      .publish('plugin.dev.session.expired', {
        tenant: session.tenant,
        plugin: session.pluginId,
        session: session.id,
      })
      .catch(() => {});
  }

  /** Active sessions of the tenant with their plugin's reload history, and the history of plugins without one. */
  async listSessions(p: Principal, tenant: string): Promise<DevSessionsList> {
    this.requireDevMode();
    await this.#s.tenants.assertReadAccess(p, tenant);
    const sessions = this.sessions.list(tenant).map((x) => ({
      id: x.id,
      tenant: x.tenant,
      pluginId: x.pluginId,
      user: x.user,
      client: x.client,
      startedAt: x.createdAt,
      lastSeenAt: x.lastSeenAt,
      expiresAt: x.expiresAt,
      reloads: this.reloads.list(tenant, x.pluginId),
    }));
    const held = new Set(sessions.map((x) => x.pluginId));
    const recent = this.reloads
      .pluginsOf(tenant)
      .filter((id) => !held.has(id))
      .map((pluginId) => ({ pluginId, reloads: this.reloads.list(tenant, pluginId) }));
    return { tenant, sessions, recent };
  }

  // ---------------------------------------------------------------- uninstall

  async uninstall(
    p: Principal,
    input: { tenant: string; pluginId: string; sessionId?: string; removeData?: boolean },
  ): Promise<void> {
    await this.#access(p, input.tenant, 'plugin.dev.uninstall', input.pluginId);
    await this.sessions.claim(
      input.tenant,
      input.pluginId,
      holderOf(p, input.sessionId ? undefined : 'api'),
      input.sessionId,
    );
    const done = await this.#uninstallIfInstalled(p, input.tenant, input.pluginId, !!input.removeData);
    await this.sessions.endFor(input.tenant, input.pluginId);
    if (!done) throw new PxError('PLUGIN_NOT_FOUND', { plugin: input.pluginId, tenant: input.tenant });
  }

  async #uninstallIfInstalled(
    p: Principal,
    tenant: string,
    pluginId: string,
    removeData: boolean,
  ): Promise<boolean> {
    const lane = this.#lanes.get(laneKey(tenant, pluginId));
    if (lane) {
      lane.waiting?.supersede();
      lane.waiting = undefined;
      lane.cutGrace?.();
      await lane.idle;
    }
    const installed = await this.#s.plugins.get(tenant, pluginId);
    if (!installed) return false;
    await this.#s.pipeline.uninstall(p, tenant, pluginId, { keepData: !removeData });
    await this.#s.audit.append({
      actor: p.username,
      tenant,
      action: 'plugin.dev.uninstall',
      target: pluginId,
      outcome: 'ok',
      details: { removeData },
    });
    await this.#s.bus.publish('plugin.dev.uninstalled', { tenant, plugin: pluginId, removeData });
    return true;
  }

  // ---------------------------------------------------------------- build errors (reported by the CLI)

  /** A build error on the developer's side: nothing was pushed, the running version stays; the Admin hears it too. */
  async reportBuildError(p: Principal, sessionId: string, error: { message: string }): Promise<void> {
    this.requireDevMode();
    const session = this.sessions.get(sessionId);
    if (!session || session.userId !== p.userId)
      throw new PxError('DEV_SESSION_NOT_FOUND', { session: sessionId });
    const message = error.message.slice(0, 4000);
    const serving = this.#s.pipeline.servingInstance(session.tenant, session.pluginId);
    this.#logLine(
      session.tenant,
      session.pluginId,
      'error',
      `dev reload: build failed, nothing pushed; ${serving ? `version ${serving.version} keeps serving` : 'nothing is serving'}: ${message}`,
      { stage: 'build' },
    );
    this.hub.publishReload(session.tenant, session.pluginId, {
      at: new Date().toISOString(),
      result: 'build_failed',
      reason: message,
      ...(serving ? { version: serving.version } : {}),
    });
    const servingRow = await this.#servingView(session.tenant, session.pluginId);
    this.reloads.record(session.tenant, session.pluginId, {
      id: `dr_${randomUUID().slice(0, 12)}`,
      at: new Date().toISOString(),
      result: 'build_failed',
      rollback: {
        code: 'BUILD_FAILED',
        stage: 'build',
        message,
        hint: 'Fix the build error shown by px-plugin dev; nothing was pushed.',
        ...(servingRow ? { serving: servingRow } : {}),
        restored: false,
      },
    });
    await this.#s.bus.publish('plugin.dev.rollback', {
      tenant: session.tenant,
      plugin: session.pluginId,
      stage: 'build',
      code: 'BUILD_FAILED',
      reason: message,
      serving: serving?.version ?? null,
    });
  }

  // ---------------------------------------------------------------- install / reload

  async install(
    p: Principal,
    input: { tenant: string; sessionId?: string; source: DevSource },
  ): Promise<DevReload> {
    const t0 = performance.now();
    const at = new Date().toISOString();
    const id = `dr_${randomUUID().slice(0, 12)}`;
    const cleanup: string[] = [];
    if ('uploadPath' in input.source) cleanup.push(input.source.uploadPath);
    try {
      await this.#access(
        p,
        input.tenant,
        'plugin.dev.install',
        'path' in input.source ? input.source.path : undefined,
      );
      // 1. Our own copy of the build.
      let buildDir: string;
      let manifest: Manifest;
      if (!unsignedAllowed(this.#s.policy.current, input.tenant)) {
        await this.#s.audit.append({
          actor: p.username,
          tenant: input.tenant,
          action: 'plugin.dev.install',
          target: null,
          outcome: 'denied',
          details: { code: 'DEV_UNSIGNED_NOT_ALLOWED' },
        });
        throw new PxError('DEV_UNSIGNED_NOT_ALLOWED', { tenant: input.tenant });
      }
      if ('path' in input.source) {
        let real: string;
        try {
          real = await resolveAllowedPath(input.source.path, this.roots, this.#s.paths.dataDir);
        } catch (error) {
          await this.#s.audit.append({
            actor: p.username,
            tenant: input.tenant,
            action: 'plugin.dev.install',
            target: input.source.path,
            outcome: 'denied',
            details: { code: (error as PxError).code },
          });
          throw error;
        }
        buildDir = join(this.#s.paths.staging, `dev-${randomUUID()}`);
        cleanup.push(buildDir);
        manifest = (await snapshotBuild(real, buildDir)).manifest;
      } else {
        const extracted = await extractPackage(input.source.uploadPath, {
          stagingRoot: this.#s.paths.staging,
          limits: { maxCompressedBytes: this.#s.limits.forTenant(input.tenant).maxPackageMb * 1024 * 1024 },
        });
        buildDir = extracted.dir;
        cleanup.push(buildDir);
        manifest = await readManifestSource(buildDir);
      }
      // 2. Pack it (unsigned): deterministic bytes, so the hash names the content.
      const pxp = join(this.#s.paths.uploads, `dev-${randomUUID()}.pxp`);
      cleanup.push(pxp);
      const packed = await packDirectory(buildDir, pxp);
      const pushMs = performance.now() - t0;
      const session = await this.sessions.claim(
        input.tenant,
        manifest.id,
        holderOf(p, input.sessionId ? undefined : 'api'),
        input.sessionId,
      );
      const base = {
        id,
        tenant: input.tenant,
        pluginId: manifest.id,
        version: manifest.version,
        contentSha256: packed.sha256,
        at,
      };

      // 3. One reload at a time per plugin; only the newest waiting build is kept.
      return await this.#inLane<DevReload>(
        input.tenant,
        manifest.id,
        async (lane) => {
          const unchanged = await this.#unchanged(input.tenant, manifest.id, packed.sha256);
          if (unchanged)
            return {
              ...base,
              result: 'unchanged' as const,
              installId: unchanged.installId,
              serving: unchanged,
              timings: timings({ pushMs, totalMs: performance.now() - t0 }),
              entryUrl: this.#s.entryUrl(input.tenant, manifest.id),
            };
          cleanup.splice(cleanup.indexOf(pxp), 1); // the pipeline owns (and removes) the package from here on
          return this.#reload(p, lane, { ...base, session, pxp, bytes: packed.bytes, pushMs, t0 });
        },
        () => ({
          ...base,
          result: 'superseded' as const,
          timings: timings({ pushMs, totalMs: performance.now() - t0 }),
          error: new PxError('DEV_RELOAD_SUPERSEDED').toJSON(),
        }),
      );
    } finally {
      for (const path of cleanup) await rm(path, { recursive: true, force: true });
    }
  }

  async #unchanged(
    tenant: string,
    pluginId: string,
    sha: string,
  ): Promise<{ version: string; installId: string } | undefined> {
    const plugin = await this.#s.plugins.get(tenant, pluginId);
    if (!plugin || plugin.status !== 'running') return undefined;
    const active = await this.#s.db
      .selectFrom('installs')
      .select('package_sha256')
      .where('id', '=', plugin.active_install_id)
      .executeTakeFirst();
    const serving = this.#s.pipeline.servingInstance(tenant, pluginId);
    return active?.package_sha256 === sha && serving?.state === 'ready'
      ? { version: plugin.active_version, installId: plugin.active_install_id }
      : undefined;
  }

  /**
   * Runs `job` when the lane is free. A job that is still waiting when a newer one arrives is
   * answered with `superseded()` instead of running.
   */
  #inLane<T>(
    tenant: string,
    pluginId: string,
    job: (lane: Lane) => Promise<T>,
    superseded: () => T,
  ): Promise<T> {
    const k = laneKey(tenant, pluginId);
    let lane = this.#lanes.get(k);
    if (!lane) {
      lane = { busy: false, idle: Promise.resolve() };
      this.#lanes.set(k, lane);
    }
    const l = lane;
    return new Promise<T>((resolve, reject) => {
      const run = async () => {
        l.busy = true;
        l.held = false;
        l.idle = new Promise((r) => (l.markIdle = r));
        try {
          resolve(await job(l));
        } catch (error) {
          reject(error);
        } finally {
          if (!l.held) this.#laneDone(l);
        }
      };
      if (this.#closed) return resolve(superseded());
      if (!l.busy) return void run();
      l.waiting?.supersede();
      l.waiting = { run, supersede: () => resolve(superseded()) };
      l.cutGrace?.();
    });
  }

  /** Called when a job (including its grace watch) is completely done. */
  #laneDone(lane: Lane): void {
    const next = lane.waiting;
    lane.waiting = undefined;
    lane.cutGrace = undefined;
    lane.held = false;
    lane.busy = false;
    lane.markIdle?.();
    if (next && !this.#closed) void next.run();
    else if (next) next.supersede();
  }

  async #reload(
    p: Principal,
    lane: Lane,
    r: {
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
    },
  ): Promise<DevReload> {
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
      this.#logLine(
        tenant,
        pluginId,
        'info',
        `dev reload: version ${r.version} (${r.contentSha256.slice(0, 12)}) serving in ${Math.round(totalMs)} ms`,
        { reload: r.id, installId: row.id, timings: t },
        serving?.id,
      );
      this.hub.publishReload(tenant, pluginId, {
        at: new Date().toISOString(),
        version: r.version,
        result: 'running',
        durationMs: Math.round(totalMs),
      });
      this.reloads.record(tenant, pluginId, {
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
        this.#laneDone(lane);
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
    const serving = await this.#servingView(tenant, pluginId);
    await this.#failed(p, { ...r, installId: row.id, totalMs, error, serving, restored: false });
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
    while (!cut && !this.#closed && Date.now() < deadline) {
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
    const tail = await this.#lastErrorLine(tenant, pluginId, instanceId);
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
    const serving = await this.#servingView(tenant, pluginId);
    await this.#failed(p, {
      ...r,
      installId,
      totalMs: performance.now() - r.t0,
      error: { ...error, stage: 'after_switch' },
      serving,
      restored,
    });
  }

  async #failed(
    p: Principal,
    f: {
      id: string;
      tenant: string;
      pluginId: string;
      version: string;
      installId: string;
      totalMs: number;
      error: { code: string; message: string; hint: string; stage?: string };
      serving?: { version: string; installId: string };
      restored: boolean;
    },
  ): Promise<void> {
    const { tenant, pluginId } = f;
    this.#s.metrics.recordDevInstall(tenant, false, f.totalMs / 1000, true);
    const keeps = f.serving
      ? `version ${f.serving.version} ${f.restored ? 'serves again' : 'keeps serving'}`
      : 'no version is serving';
    const reason = `${f.error.code}${f.error.stage ? ` at ${f.error.stage}` : ''}: ${f.error.message}`;
    this.#logLine(tenant, pluginId, 'error', `dev reload of ${f.version} rolled back; ${keeps}. ${reason}`, {
      reload: f.id,
      installId: f.installId,
      code: f.error.code,
      stage: f.error.stage ?? null,
      hint: f.error.hint,
    });
    this.hub.publishReload(tenant, pluginId, {
      at: new Date().toISOString(),
      version: f.serving?.version ?? f.version,
      result: f.restored ? 'rolled_back' : 'failed',
      durationMs: Math.round(f.totalMs),
      reason,
    });
    this.reloads.record(tenant, pluginId, {
      id: f.id,
      at: new Date().toISOString(),
      version: f.version,
      installId: f.installId,
      durationMs: Math.round(f.totalMs),
      result: f.restored ? 'rolled_back' : 'failed',
      rollback: {
        code: f.error.code,
        ...(f.error.stage ? { stage: f.error.stage } : {}),
        message: f.error.message,
        hint: f.error.hint,
        ...(f.serving ? { serving: f.serving } : {}),
        restored: f.restored,
      },
    });
    await this.#s.audit.append({
      actor: p.username,
      tenant,
      action: 'plugin.dev.rollback',
      target: pluginId,
      outcome: 'failed',
      details: {
        reload: f.id,
        installId: f.installId,
        version: f.version,
        code: f.error.code,
        stage: f.error.stage ?? null,
        serving: f.serving ?? null,
        restored: f.restored,
      },
    });
    await this.#s.bus.publish('plugin.dev.rollback', {
      tenant,
      plugin: pluginId,
      reload: f.id,
      installId: f.installId,
      version: f.version,
      stage: f.error.stage ?? null,
      code: f.error.code,
      reason: f.error.message,
      hint: f.error.hint,
      serving: f.serving ?? null,
      restored: f.restored,
    });
  }

  async #servingView(
    tenant: string,
    pluginId: string,
  ): Promise<{ version: string; installId: string } | undefined> {
    const plugin = await this.#s.plugins.get(tenant, pluginId);
    return plugin && this.#s.pipeline.servingInstance(tenant, pluginId)
      ? { version: plugin.active_version, installId: plugin.active_install_id }
      : undefined;
  }

  async #lastErrorLine(
    tenant: string,
    pluginId: string,
    instanceId: string | undefined,
  ): Promise<string | undefined> {
    const page = await this.#s.logs.query(tenant, pluginId, { limit: 20, level: 'warn' });
    const line = [...page.lines]
      .reverse()
      .find((l) => (!instanceId || l.instance === instanceId) && l.source !== 'runtime');
    return line ? line.msg.slice(0, 500) : undefined;
  }

  #logLine(
    tenant: string,
    pluginId: string,
    level: 'info' | 'warn' | 'error',
    msg: string,
    fields: Record<string, unknown>,
    instance?: string,
  ): void {
    const serving = this.#s.pipeline.servingInstance(tenant, pluginId);
    this.#s.logs.write({
      ts: new Date().toISOString(),
      tenant,
      plugin: pluginId,
      version: serving?.version ?? '-',
      instance: instance ?? serving?.id ?? 'core',
      level,
      msg,
      fields: { dev: true, ...fields },
      source: 'runtime',
    });
  }
}

function laneKey(tenant: string, pluginId: string): string {
  return `${tenant}\0${pluginId}`;
}

function holderOf(p: Principal, client: string | undefined): SessionHolder {
  return {
    userId: p.userId,
    username: p.username,
    client: client?.slice(0, 200) || `API token ${p.tokenId.slice(0, 8)}`,
  };
}

function timings(t: Partial<DevReloadTimings>): DevReloadTimings {
  return { pushMs: 0, validateMs: 0, startMs: 0, healthMs: 0, switchMs: 0, totalMs: 0, ...roundAll(t) };
}

function roundAll(t: Partial<DevReloadTimings>): Partial<DevReloadTimings> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v as number)]));
}

/** Stage durations of the install → the timing line `px-plugin dev` prints. */
function timingsFrom(stages: InstallStage[], pushMs: number, totalMs: number): DevReloadTimings {
  const ms = (...names: string[]) =>
    stages.filter((s) => names.includes(s.stage)).reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
  return timings({
    pushMs,
    validateMs: ms('received', 'validating', 'awaiting_config'),
    startMs: ms('provisioning', 'starting'),
    healthMs: ms('health_check'),
    switchMs: ms('seeding', 'running'),
    totalMs,
  });
}
