/**
 * The install pipeline: a persisted state machine
 *   received → validating → awaiting_config → provisioning → starting → health_check → seeding → running
 * with any failure going rolling_back → failed {code, stage, message, hint}. A new version is
 * started next to the old one and only switched in (one transaction) once healthy and seeded.
 *
 * This class is the pipeline's face to routes and dev mode; each job lives in a file of its own:
 *   upload-install.ts       an upload (or dev reload) from received to the end
 *   validation-stage.ts     validating: the shared upload checks (upload-checks.ts), the tenant lock
 *   awaiting-config.ts      the wizard: resolve, wait, submit, cancel, expire
 *   provisioning.ts         version and data folders, package blob
 *   activation.ts           starting → health_check → seeding, then switch-transaction.ts
 *   install-rollback.ts     rolling_back → failed, undoing what the install created
 *   version-gc.ts           removing version folders nobody needs (version-gc-policy.ts decides)
 *   plugin-operations.ts    reconfigure, roll back to last stable, uninstall
 *   crash-recovery.ts       start-up: roll back unfinished installs, start serving plugins
 *   supervisor-bridge.ts    supervisor events → serving failures
 *   stage-recorder.ts       persisting, timing and auditing each stage (stage-transitions.ts rules)
 *   install-tasks.ts        background work and waiters
 *   flow-policy.ts          what differs between an upload and a dev reload
 */
import type { PluginFailure } from '../plugins/plugin-repository.ts';
import type { InstallConfig } from '@powerx/protocol';
import type { InstanceInfo, SupervisorEvent } from '@powerx/runtime';
import type { Principal } from '../identity/principal.ts';
import { withLogContext } from '../logging/log-context.ts';
import type { InstallRow, InstallStore } from './install-store.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import {
  ServingTable,
  stageOf,
  type PipelineContext,
  type PipelineDeps,
  type StartingInstance,
} from './pipeline-context.ts';
import { StageRecorder } from './stage-recorder.ts';
import { InstallTasks } from './install-tasks.ts';
import { ServingFailures } from './serving-failures.ts';
import { startUploadInstall, type UploadInstallInput } from './upload-install.ts';
import { cancelInstall, expireWaiting, submitWaitingConfig } from './awaiting-config.ts';
import { provisionAndActivate } from './provisioning.ts';
import { rollbackInstall } from './install-rollback.ts';
import * as operations from './plugin-operations.ts';
import { failPlugin, recover, rollBackAbandoned, startServingPlugin } from './crash-recovery.ts';
import { onSupervisorEvent } from './supervisor-bridge.ts';
import { detachLeftoverMounts } from './leftover-mounts.ts';

export type { PipelineDeps, TestDataGenerator } from './pipeline-context.ts';

export class InstallPipeline {
  readonly #ctx: PipelineContext;
  /** A serving instance that fails after `running` ⇒ recorded, and the last stable version restored. */
  readonly #failures: ServingFailures;
  #closing = false;

  constructor(deps: PipelineDeps) {
    const stages: StageRecorder = new StageRecorder(deps, (id) => tasks.changed(id));
    const tasks = new InstallTasks(deps.store, (id) => stages.isWaitingForConfig(id));
    this.#ctx = {
      d: deps,
      stages,
      tasks,
      serving: new ServingTable(),
      starting: new Map<string, StartingInstance>(),
      tenantLock: deps.tenantLock ?? new KeyedMutex(),
      closing: () => this.#closing,
    };
    this.#failures = new ServingFailures({
      ...deps,
      isServing: (tenant, pluginId, instanceId) =>
        !this.#closing && this.#ctx.serving.get(tenant, pluginId) === instanceId,
      rollbackToStable: (principal, tenant, pluginId) => this.rollbackToStable(principal, tenant, pluginId),
      waitSettled: (id) => this.waitSettled(id),
      track: (task) => tasks.track(task),
    });
  }

  get store(): InstallStore {
    return this.#ctx.d.store;
  }

  servingInstance(tenant: string, pluginId: string): InstanceInfo | undefined {
    const id = this.#ctx.serving.get(tenant, pluginId);
    return id ? this.#ctx.d.supervisor.get(id) : undefined;
  }

  /** Dev mode's grace watch decides itself about a failure of `instanceId` until it releases (see serving-failures.ts). */
  holdServingFailures(tenant: string, pluginId: string, instanceId: string): (handled: boolean) => void {
    return this.#failures.hold(tenant, pluginId, instanceId);
  }

  /** Fed from the Supervisor's onEvent. */
  onSupervisorEvent(event: SupervisorEvent): void {
    onSupervisorEvent(this.#failures, event);
  }

  /** Creates the install (state received) and runs the pipeline in the background. */
  startUploadInstall(input: UploadInstallInput): Promise<InstallRow> {
    return startUploadInstall(this.#ctx, input);
  }

  /** Completes the wizard of an install waiting in awaiting_config; provisioning goes on in the background. */
  async submitConfig(principal: Principal, installId: string, input: InstallConfig): Promise<InstallRow> {
    const ctx = this.#ctx;
    const { resolved, started } = await submitWaitingConfig(ctx, principal, installId, input);
    const actor = principal.username;
    ctx.tasks.track(
      withLogContext({ installId }, () =>
        provisionAndActivate(ctx, { id: installId, actor, resolved, started }),
      ).catch((error) =>
        rollbackInstall(ctx, {
          id: installId,
          stage: stageOf(error, 'provisioning'),
          cause: error,
          actor,
          started,
        }),
      ),
      installId,
    );
    return (await ctx.d.store.get(installId))!;
  }

  /** Cancels an install waiting in awaiting_config: rolled back like any failure, with INSTALL_CANCELLED. */
  cancel(principal: Principal, installId: string): Promise<void> {
    return cancelInstall(this.#ctx, principal, installId);
  }

  /** Cancels installs waiting for configuration longer than `maxAgeMs`; returns how many. */
  expireWaiting(maxAgeMs: number, now = new Date()): Promise<number> {
    return expireWaiting(this.#ctx, maxAgeMs, now);
  }

  /** Restart with new config next to the current instance; switch only when healthy. */
  reconfigure(
    principal: Principal,
    tenant: string,
    pluginId: string,
    input: InstallConfig,
  ): Promise<InstallRow> {
    return operations.reconfigure(this.#ctx, principal, tenant, pluginId, input);
  }

  /** Serve the last stable version again. */
  rollbackToStable(principal: Principal, tenant: string, pluginId: string): Promise<InstallRow> {
    return operations.rollbackToStable(this.#ctx, principal, tenant, pluginId);
  }

  uninstall(
    principal: Principal,
    tenant: string,
    pluginId: string,
    opts: { force?: boolean; keepData?: boolean } = {},
  ): Promise<void> {
    return operations.uninstall(this.#ctx, principal, tenant, pluginId, opts);
  }

  /** Resolves when the install is terminal or waiting for configuration. */
  waitSettled(id: string, timeoutMs?: number): Promise<InstallRow> {
    return this.#ctx.tasks.waitSettled(id, timeoutMs);
  }

  /** Start-up: see crash-recovery.ts. */
  recover(): Promise<{ rolledBack: number; started: number; failed: number }> {
    return recover(this.#ctx);
  }

  /** Cluster: rolls back unfinished installs of nodes that are gone. */
  rollBackAbandoned(): Promise<number> {
    return rollBackAbandoned(this.#ctx);
  }

  /** Starts serving a plugin here (active version, else last stable); false if neither starts. */
  startServingPlugin(
    tenant: string,
    pluginId: string,
    opts?: { activeOnly?: boolean; markFailed?: boolean },
  ): Promise<boolean> {
    return startServingPlugin(this.#ctx, tenant, pluginId, opts);
  }

  /** No version of the plugin can be started and nothing will try again: failed, with why, audited. */
  failPlugin(
    tenant: string,
    pluginId: string,
    failure: PluginFailure,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    return failPlugin(this.#ctx, tenant, pluginId, failure, details);
  }

  /** Cluster: stops this node's instance of a plugin another node now serves, or that is gone. */
  async stopServingPlugin(tenant: string, pluginId: string, reason: string): Promise<void> {
    const instanceId = this.#ctx.serving.get(tenant, pluginId);
    this.#ctx.serving.delete(tenant, pluginId);
    if (instanceId) await this.#ctx.d.supervisor.stop(instanceId, { reason, graceMs: 2000 }).catch(() => {});
  }

  /** (tenant, plugin) pairs this node serves. */
  servedPlugins(): Array<{ tenant: string; pluginId: string }> {
    return this.#ctx.serving.list();
  }

  /**
   * Shutdown: plugins are stopped first, so an install in flight fails at once (a seed hook or
   * health gate could otherwise hold shutdown for a minute); its rollback records INSTALL_INTERRUPTED.
   */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#ctx.d.supervisor.stopAll({ graceMs: 2000 });
    await this.#ctx.tasks.allSettled();
    await this.#ctx.d.supervisor.stopAll();
    this.#ctx.serving.clear();
    // Every instance is stopped: a data volume still mounted under this core's tenants is one a
    // failed instance did not release, and would hold a loop device and make the folder EBUSY.
    await detachLeftoverMounts(this.#ctx.d.paths.tenants, this.#ctx.d.log);
  }
}
