/**
 * What core does when the instance SERVING a plugin fails after it reached `running`: the
 * supervisor spent its restart budget (CRASH_LOOP) or stopped it for a quota breach (QUOTA_*).
 *
 *   1. The failure is recorded where people look: the plugin's status turns `failed`, the serving
 *      install row goes running → failed with {code, stage: "running", message, hint} (so
 *      `GET /api/tenants/:t/plugins/:p` and `px-plugin status` show why), an audit entry
 *      `plugin.instance.failed`, a bus event `plugin.instance.failed` and a line in the plugin's
 *      own log feed (`px-plugin logs`, the Admin).
 *   2. If a last stable version exists, it is restored automatically through the same path as a
 *      manual rollback (`rollbackToStable`, actor `system`): audit `plugin.install.auto_rollback`
 *      (started, then ok/failed, each with the reason), bus event `plugin.install.auto_rollback`,
 *      `plugin_install_rollback_total{stage="running"}`, and a log line saying what serves now.
 *
 * Dev mode watches a freshly switched version for a grace window and rolls back by itself
 * (packages/core/src/dev/dev-service.ts). To never roll back the same failure twice, the dev
 * watch `hold`s the instance for its window: a failure arriving meanwhile is recorded (step 1)
 * but the decision is left to the holder; released with `handled = false` (the watch saw no
 * crash, or was cut short), a pending failure is then handled here.
 */
import type { Logger } from 'pino';
import type { InstanceFailure, InstanceInfo, LogSink } from '@powerx/runtime';
import { isPxError } from '@powerx/protocol';
import type { PluginRepository } from '../plugins/plugin-repository.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { CoreMetrics } from '../metrics/core-metrics.ts';
import type { Principal } from '../identity/principal.ts';
import type { InstallRow, InstallStore } from './install-store.ts';

/** Who core's own rollbacks are attributed to (audit actor, install row actor). */
export const SYSTEM_PRINCIPAL: Principal = {
  userId: 'system',
  username: 'system',
  permissions: [],
  tokenId: 'system',
};

/** The stage a failure after `running` is reported in. */
export const SERVING_STAGE = 'running';

export interface ServingFailureDeps {
  plugins: PluginRepository;
  store: InstallStore;
  audit: AuditLog;
  bus: EventBus;
  metrics: CoreMetrics;
  log: Logger;
  /** The plugin log feed (persisted; followed by the CLI and the Admin). Optional for embedders. */
  pluginLogs?: LogSink;
  /** The pipeline's side. */
  isServing(tenant: string, pluginId: string, instanceId: string): boolean;
  rollbackToStable(principal: Principal, tenant: string, pluginId: string): Promise<InstallRow>;
  waitSettled(installId: string): Promise<InstallRow>;
  /** Lets the pipeline's close() wait for work in flight. */
  track(task: Promise<unknown>): void;
}

interface Hold {
  instanceId: string;
  pending?: { instance: InstanceInfo; failure: InstanceFailure };
}

export class ServingFailures {
  readonly #d: ServingFailureDeps;
  readonly #holds = new Map<string, Hold>();
  /** Instances whose failure a holder already dealt with (a later CRASH_LOOP of the same one is only recorded). */
  readonly #handledBy = new Set<string>();

  constructor(deps: ServingFailureDeps) {
    this.#d = deps;
  }

  /** Called for every `instance.failed` of the supervisor; ignores instances that do not serve. */
  onInstanceFailed(instance: InstanceInfo, failure: InstanceFailure): void {
    if (!this.#d.isServing(instance.tenant, instance.pluginId, instance.id)) return;
    // Decided now, synchronously: the holder may release while the failure is being recorded.
    const hold = this.#holds.get(keyOf(instance.tenant, instance.pluginId));
    const decision =
      hold?.instanceId === instance.id
        ? 'dev_grace_watch'
        : this.#handledBy.delete(instance.id)
          ? 'handled'
          : 'core';
    if (decision === 'dev_grace_watch') hold!.pending = { instance, failure };
    this.#d.track(
      this.#handle(instance, failure, decision).catch((error: unknown) =>
        this.#d.log.error(
          { err: error, tenant: instance.tenant, pluginId: instance.pluginId },
          'handling a serving instance failure failed',
        ),
      ),
    );
  }

  /**
   * Dev mode's grace watch takes the decision for `instanceId` until it calls the returned
   * release: `handled = true` when it rolled back (or reported) the failure itself.
   */
  hold(tenant: string, pluginId: string, instanceId: string): (handled: boolean) => void {
    const key = keyOf(tenant, pluginId);
    const hold: Hold = { instanceId };
    this.#holds.set(key, hold);
    return (handled) => {
      if (this.#holds.get(key) === hold) this.#holds.delete(key);
      const pending = hold.pending;
      if (handled && !pending) this.#handledBy.add(instanceId);
      if (!pending || handled) return;
      if (!this.#d.isServing(tenant, pluginId, pending.instance.id)) return;
      this.#d.track(
        this.#recover(pending.instance, pending.failure).catch((error: unknown) =>
          this.#d.log.error({ err: error, tenant, pluginId }, 'auto rollback failed'),
        ),
      );
    };
  }

  async #handle(
    instance: InstanceInfo,
    failure: InstanceFailure,
    decision: 'core' | 'dev_grace_watch' | 'handled',
  ): Promise<void> {
    const { tenant, pluginId } = instance;
    const plugin = await this.#d.plugins.get(tenant, pluginId);
    if (!plugin) return;
    const installId = plugin.active_install_id;
    const install = await this.#d.store.get(installId);
    const next = decision !== 'core' ? decision : plugin.last_stable_install_id ? 'auto_rollback' : 'none';
    // The entry is committed with the failed state and its reason, before them: whoever sees the
    // plugin failed finds why, and the audit entry too.
    await this.#d.audit.appendWith(
      {
        actor: 'system',
        tenant,
        action: 'plugin.instance.failed',
        target: pluginId,
        outcome: 'failed',
        details: {
          version: instance.version,
          instance: instance.id,
          installId,
          code: failure.code,
          message: failure.message,
          hint: failure.hint,
          next,
          lastStableVersion: plugin.last_stable_version,
        },
      },
      async (trx) => {
        await this.#d.plugins.markFailed(
          tenant,
          pluginId,
          { ...failure, stage: SERVING_STAGE },
          { touch: true, onlyRunningInstall: true },
          trx,
        );
        if (install?.state === 'running')
          await this.#d.store.transition(
            installId,
            'failed',
            { nextOutcome: 'failed', code: failure.code },
            trx,
          );
      },
    );
    await this.#d.bus.publish('plugin.instance.failed', {
      tenant,
      plugin: pluginId,
      version: instance.version,
      installId,
      instance: instance.id,
      code: failure.code,
      message: failure.message,
      hint: failure.hint,
      stage: SERVING_STAGE,
      lastStableVersion: plugin.last_stable_version,
      next,
    });
    this.#d.log.warn(
      { tenant, pluginId, version: instance.version, code: failure.code, next },
      'serving plugin instance failed',
    );
    if (decision !== 'core') return;
    await this.#recover(instance, failure);
  }

  /** Restores the last stable version (if it is still there) through rollbackToStable. */
  async #recover(instance: InstanceInfo, failure: InstanceFailure): Promise<void> {
    const { tenant, pluginId } = instance;
    const plugin = await this.#d.plugins.get(tenant, pluginId);
    if (!plugin || !this.#d.isServing(tenant, pluginId, instance.id)) return;
    const installId = plugin.active_install_id;
    if (!plugin.last_stable_install_id) {
      this.#line(
        instance,
        'error',
        `version ${instance.version} failed while serving and there is no last stable version to restore: the plugin is failed. ${failure.code}: ${failure.message} (hint: ${failure.hint})`,
        { code: failure.code, hint: failure.hint, installId, autoRollback: false },
      );
      return;
    }
    const reason = { code: failure.code, message: failure.message, hint: failure.hint, stage: SERVING_STAGE };
    const from = { version: instance.version, installId };
    const to = { version: plugin.last_stable_version!, installId: plugin.last_stable_install_id };
    this.#d.metrics.rollbackTotal.inc({ stage: SERVING_STAGE });
    this.#line(
      instance,
      'error',
      `version ${from.version} failed while serving (${failure.code}: ${failure.message}); rolling back to the last stable version ${to.version}. Hint: ${failure.hint}`,
      { ...reason, installId, autoRollback: true, to: to.version },
    );
    let row: InstallRow;
    try {
      row = await this.#d.rollbackToStable(SYSTEM_PRINCIPAL, tenant, pluginId);
    } catch (error) {
      // Typically INSTALL_IN_PROGRESS: an install of this plugin is running and will replace the failed version.
      const code = isPxError(error) ? error.code : 'INTERNAL';
      await this.#d.audit.append({
        actor: 'system',
        tenant,
        action: 'plugin.install.auto_rollback',
        target: pluginId,
        outcome: 'failed',
        details: { from, to, reason, refusedWith: code },
      });
      await this.#d.bus.publish('plugin.install.auto_rollback', {
        tenant,
        plugin: pluginId,
        from,
        to,
        ...reason,
        restored: false,
        refusedWith: code,
      });
      this.#line(
        instance,
        'error',
        `automatic rollback to ${to.version} could not start (${code}); the plugin stays failed`,
        { code, autoRollback: true },
      );
      return;
    }
    await this.#d.audit.append({
      actor: 'system',
      tenant,
      action: 'plugin.install.auto_rollback',
      target: pluginId,
      outcome: 'started',
      details: { from, to, reason, rollbackInstallId: row.id },
    });
    const settled = await this.#d.waitSettled(row.id);
    const restored = settled.state === 'running';
    await this.#d.audit.append({
      actor: 'system',
      tenant,
      action: 'plugin.install.auto_rollback',
      target: pluginId,
      outcome: restored ? 'ok' : 'failed',
      details: {
        from,
        to,
        reason,
        rollbackInstallId: row.id,
        restored,
        ...(restored
          ? {}
          : {
              rollbackError: {
                code: settled.error_code,
                stage: settled.error_stage,
                message: settled.error_message,
              },
            }),
      },
    });
    await this.#d.bus.publish('plugin.install.auto_rollback', {
      tenant,
      plugin: pluginId,
      from,
      to,
      ...reason,
      rollbackInstallId: row.id,
      restored,
    });
    if (restored)
      this.#line(
        instance,
        'warn',
        `automatic rollback done: version ${to.version} serves again (version ${from.version} failed with ${failure.code})`,
        { ...reason, installId: row.id, autoRollback: true, version: to.version },
      );
    else
      this.#line(
        instance,
        'error',
        `automatic rollback to ${to.version} failed (${settled.error_code ?? 'INTERNAL'}: ${settled.error_message ?? ''}); the plugin is failed`,
        { code: settled.error_code, installId: row.id, autoRollback: true },
      );
  }

  #line(instance: InstanceInfo, level: 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    this.#d.pluginLogs?.write({
      ts: new Date().toISOString(),
      tenant: instance.tenant,
      plugin: instance.pluginId,
      version: instance.version,
      instance: instance.id,
      level,
      msg,
      fields,
      source: 'runtime',
    });
  }
}

function keyOf(tenant: string, pluginId: string): string {
  return `${tenant}\0${pluginId}`;
}
