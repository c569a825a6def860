/**
 * Dev mode's orchestration: a dev install / reload is
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
  type DevSession,
  type DevSessionsList,
  type Manifest,
  type AuditAction,
} from '@powerx/protocol';
import type { CoreServicesWithoutDev } from '../core-services.ts';
import type { Principal } from '../identity/principal.ts';
import { LogHub } from '../logs/log-hub.ts';
import { resolveAllowedPath } from './dev-roots.ts';
import { assertDevPolicy } from './dev-policy-gate.ts';
import { unsignedAllowed } from '../config/dev-policy.ts';
import { FileDevSessions } from './dev-sessions.ts';
import type { DevSessionStore, SessionHolder, SessionSettings } from './dev-session-store.ts';
import { DevReloadHistory } from './dev-reload-history.ts';
import { snapshotBuild } from './snapshot-build.ts';
import { ReloadLanes } from './reload-lanes.ts';
import { ReloadReporter } from './reload-reporter.ts';
import { DevReloader } from './dev-reloader.ts';
import { timings } from './reload-timings.ts';

export type DevSource = { path: string } | { uploadPath: string; bytes: number };

export interface DevServiceOptions {
  /** Crash watch after a switch. Default: config.dev.graceMs (PX_DEV_GRACE_MS). */
  graceMs?: number;
  /** Where sessions live: a cluster shares them in NATS; default <dataDir>/dev-sessions.json. */
  sessionStore?: (settings: () => SessionSettings) => DevSessionStore;
}

export class DevService {
  readonly sessions: DevSessionStore;
  readonly hub: LogHub;
  /** Reload history per plugin for GET /api/plugins/dev/sessions (dev-reload-history.ts). */
  readonly reloads: DevReloadHistory;
  readonly #s: CoreServicesWithoutDev;
  readonly #lanes = new ReloadLanes();
  readonly #reloader: DevReloader;
  readonly #report: ReloadReporter;

  constructor(s: CoreServicesWithoutDev, opts: DevServiceOptions = {}) {
    this.#s = s;
    // Read from the policy at each use, so a re-read policy applies to the next heartbeat.
    const settings = () => ({
      ttlMs: s.policy.current.sessions.idleTimeoutSeconds * 1000,
      maxPerUser: s.policy.current.sessions.maxPerUser,
    });
    this.sessions =
      opts.sessionStore?.(settings) ??
      new FileDevSessions(join(s.paths.dataDir, 'dev-sessions.json'), settings);
    this.hub = new LogHub(s.logs);
    this.reloads = new DevReloadHistory(s.db, s.log);
    this.#report = new ReloadReporter(s, this.hub, this.reloads);
    this.#reloader = new DevReloader({
      s,
      hub: this.hub,
      reloads: this.reloads,
      lanes: this.#lanes,
      report: this.#report,
      graceMs: opts.graceMs ?? s.config.dev.graceMs,
    });
  }

  get roots(): string[] {
    return [...this.#s.policy.current.roots];
  }

  async start(): Promise<void> {
    await this.sessions.load();
    await this.reloads.importLegacyFile(join(this.#s.paths.dataDir, 'dev-reloads.json'));
    this.sessions.startExpiry((session) => void this.#expired(session));
  }

  async close(): Promise<void> {
    this.#lanes.close();
    await this.#reloader.settled();
    await this.sessions.stop();
    this.hub.close();
  }

  requireDevMode(): void {
    if (!this.#s.devMode) throw new PxError('DEV_MODE_DISABLED');
  }

  async #access(p: Principal, tenant: string, action: AuditAction, target?: string): Promise<void> {
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

  async heartbeat(p: Principal, id: string): Promise<DevSession> {
    this.requireDevMode();
    const session = await this.sessions.get(id);
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
    const session = await this.sessions.get(id);
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
    const sessions = await Promise.all(
      (await this.sessions.list(tenant)).map(async (x) => ({
        id: x.id,
        tenant: x.tenant,
        pluginId: x.pluginId,
        user: x.user,
        client: x.client,
        startedAt: x.createdAt,
        lastSeenAt: x.lastSeenAt,
        expiresAt: x.expiresAt,
        reloads: await this.reloads.list(tenant, x.pluginId),
      })),
    );
    const held = new Set(sessions.map((x) => x.pluginId));
    const recent = await Promise.all(
      (await this.reloads.pluginsOf(tenant))
        .filter((id) => !held.has(id))
        .map(async (pluginId) => ({ pluginId, reloads: await this.reloads.list(tenant, pluginId) })),
    );
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
    await this.#lanes.drain(tenant, pluginId);
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
    const session = await this.sessions.get(sessionId);
    if (!session || session.userId !== p.userId)
      throw new PxError('DEV_SESSION_NOT_FOUND', { session: sessionId });
    await this.#report.buildFailed(session.tenant, session.pluginId, error.message.slice(0, 4000));
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
      return await this.#lanes.run<DevReload>(
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
          return this.#reloader.run(p, lane, { ...base, session, pxp, bytes: packed.bytes, pushMs, t0 });
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
}

function holderOf(p: Principal, client: string | undefined): SessionHolder {
  return {
    userId: p.userId,
    username: p.username,
    client: client?.slice(0, 200) || `API token ${p.tokenId.slice(0, 8)}`,
  };
}
