/**
 * How the outcome of a dev reload is told: a line in the plugin's own log (so `px-plugin dev`,
 * `logs -f` and the Admin show it), a reload marker on the live channel, the reload history,
 * the audit log, the bus and the dev metrics.
 */
import { randomUUID } from 'node:crypto';
import type { CoreServicesWithoutDev } from '../core-services.ts';
import type { Principal } from '../identity/principal.ts';
import type { LogHub } from '../logs/log-hub.ts';
import type { DevReloadHistory } from './dev-reload-history.ts';

export class ReloadReporter {
  readonly #s: CoreServicesWithoutDev;
  readonly #hub: LogHub;
  readonly #reloads: DevReloadHistory;

  constructor(s: CoreServicesWithoutDev, hub: LogHub, reloads: DevReloadHistory) {
    this.#s = s;
    this.#hub = hub;
    this.#reloads = reloads;
  }

  async failed(
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
    this.logLine(tenant, pluginId, 'error', `dev reload of ${f.version} rolled back; ${keeps}. ${reason}`, {
      reload: f.id,
      installId: f.installId,
      code: f.error.code,
      stage: f.error.stage ?? null,
      hint: f.error.hint,
    });
    this.#hub.publishReload(tenant, pluginId, {
      at: new Date().toISOString(),
      version: f.serving?.version ?? f.version,
      result: f.restored ? 'rolled_back' : 'failed',
      durationMs: Math.round(f.totalMs),
      reason,
    });
    await this.#reloads.record(tenant, pluginId, {
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

  async servingView(
    tenant: string,
    pluginId: string,
  ): Promise<{ version: string; installId: string } | undefined> {
    const plugin = await this.#s.plugins.get(tenant, pluginId);
    return plugin && this.#s.pipeline.servingInstance(tenant, pluginId)
      ? { version: plugin.active_version, installId: plugin.active_install_id }
      : undefined;
  }

  async lastErrorLine(
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

  logLine(
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

  /** A build error on the developer's side: nothing was pushed, the running version stays; the Admin hears it too. */
  async buildFailed(tenant: string, pluginId: string, message: string): Promise<void> {
    const serving = this.#s.pipeline.servingInstance(tenant, pluginId);
    this.logLine(
      tenant,
      pluginId,
      'error',
      `dev reload: build failed, nothing pushed; ${serving ? `version ${serving.version} keeps serving` : 'nothing is serving'}: ${message}`,
      { stage: 'build' },
    );
    this.#hub.publishReload(tenant, pluginId, {
      at: new Date().toISOString(),
      result: 'build_failed',
      reason: message,
      ...(serving ? { version: serving.version } : {}),
    });
    const servingRow = await this.servingView(tenant, pluginId);
    await this.#reloads.record(tenant, pluginId, {
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
      tenant: tenant,
      plugin: pluginId,
      stage: 'build',
      code: 'BUILD_FAILED',
      reason: message,
      serving: serving?.version ?? null,
    });
  }
}
