/**
 * The install pipeline: a persisted state machine
 *   received → validating → awaiting_config → provisioning → starting → health_check → seeding → running
 * with any failure going rolling_back → failed {code, stage, message, hint}. Everything an install
 * creates (staging and version folders, data folder if new, seeded documents, blob, process) is
 * removed on rollback; quota is derived from rows, so it comes back by itself. A new version is
 * started next to the old one and only switched in (one transaction) once healthy and seeded.
 *
 * Reconfigure and "roll back to last stable" reuse the same activation path as install: each is
 * an install row of its own kind that starts an instance from an existing version folder.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat, readdir, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ConflictError,
  NotFoundError,
  PxError,
  isPxError,
  type InstallConfig,
  type Manifest,
  type ValidationCheck,
  type ErrorCode,
  type LogLevel,
} from '@powerx/protocol';
import type { InstanceInfo, LogSink, StartSpec, SupervisorEvent } from '@powerx/runtime';
import type { Db } from '../storage/schema.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { CoreMetrics } from '../metrics/core-metrics.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { SandboxLimits } from '../limits/sandbox-limits.ts';
import type { TenantService } from '../tenants/tenant-service.ts';
import type { IdentityService } from '../identity/identity-service.ts';
import type { PluginStorage } from '../plugins/plugin-storage.ts';
import type { CorePaths } from '../config/core-paths.ts';
import type { Principal } from '../identity/principal.ts';
import { InstallStore, TERMINAL_STATES, type InstallRow } from './install-store.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { withLogContext } from '../logging/log-context.ts';
import { inferExplicitEnv, resolveConfig, type ResolvedConfig } from './wizard.ts';
import {
  checkConflicts,
  checkCoreCompatibility,
  checkDependencies,
  checkQuota,
  checkRuntimeKind,
  installedPlugins,
} from './tenant-checks.ts';
import type { PluginSupervisor } from './supervisor-port.ts';
import type { PackageValidator } from './package-validator.ts';
import { ServingFailures } from './serving-failures.ts';
import { SIGNATURE_FAILURE_CODES } from '../metrics/signature-outcome.ts';
import { localVersionDir, materializeVersionDir } from '../cluster/version-folders.ts';
import type { PlacementHooks } from '../cluster/placement-hooks.ts';

export type TestDataGenerator = (
  specs: Manifest['sandbox']['testData'],
  seed: string,
) => Record<string, Array<Record<string, unknown>>> | Promise<Record<string, Array<Record<string, unknown>>>>;

export interface PipelineDeps {
  db: Db;
  store: InstallStore;
  tenants: TenantService;
  identity: IdentityService;
  audit: AuditLog;
  bus: EventBus;
  metrics: CoreMetrics;
  secrets: SecretBox;
  limits: SandboxLimits;
  supervisor: PluginSupervisor;
  storage: PluginStorage;
  blobs: BlobStore;
  paths: CorePaths;
  coreVersion: string;
  devMode: boolean;
  platformKeys: string[];
  log: Logger;
  validator: PackageValidator;
  generateTestData: TestDataGenerator;
  entryUrl(tenant: string, pluginId: string): string;
  /** The plugin log feed: core writes why a serving version failed / was rolled back there. */
  pluginLogs?: LogSink;
  /** Cluster only: who serves which plugin (leases); absent on a single node, which serves all. */
  placement?: PlacementHooks;
  /** Serializes installs per tenant; in a cluster across nodes (cluster/store-lock.ts). */
  tenantLock?: Pick<KeyedMutex, 'run'>;
}

interface StoredConfig {
  env: Record<string, string | number | boolean>;
  /** Names only; values live sealed in secrets_enc. */
  secrets: string[];
  logLevel: LogLevel;
  missing?: string[];
  /** Env names set explicitly (wizard / --env); the others follow the manifest default (wizard.ts resolveConfig). */
  explicitEnv?: string[];
}

/** How long the replaced instance keeps accepting after a switch (blue/green drain). */
const SWITCH_DRAIN_MS = 250;

// The same codes as the signature streak (tampering with the signed sums included).
const SIGNATURE_CODES = SIGNATURE_FAILURE_CODES;

/** An error that knows the stage it happened in. */
class StageError extends Error {
  readonly stage: string;
  readonly error: PxError;
  constructor(stage: string, error: PxError) {
    super(error.message);
    this.stage = stage;
    this.error = error;
  }
}

export class InstallPipeline {
  readonly #d: PipelineDeps;
  readonly #changes = new EventEmitter();
  readonly #tenantLock: Pick<KeyedMutex, 'run'>;
  /** tenant \0 plugin → serving instance id. */
  readonly #serving = new Map<string, string>();
  /** Install id → instance started for it (until switched in or rolled back). */
  readonly #starting = new Map<
    string,
    { tenant: string; pluginId: string; version: string; instanceId?: string; healthSeen?: Promise<unknown> }
  >();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #devInstalls = new Set<string>();
  #closing = false;
  /** A serving instance that fails after `running` ⇒ recorded, and the last stable version restored. */
  readonly #failures: ServingFailures;

  constructor(deps: PipelineDeps) {
    this.#d = deps;
    this.#tenantLock = deps.tenantLock ?? new KeyedMutex();
    this.#changes.setMaxListeners(0);
    this.#failures = new ServingFailures({
      ...deps,
      isServing: (tenant, pluginId, instanceId) =>
        !this.#closing && this.#serving.get(`${tenant}\0${pluginId}`) === instanceId,
      rollbackToStable: (principal, tenant, pluginId) => this.rollbackToStable(principal, tenant, pluginId),
      waitSettled: (id) => this.waitSettled(id),
      track: (task) => this.#track(task),
    });
  }

  /** Dev mode's grace watch decides itself about a failure of `instanceId` until it releases (see serving-failures.ts). */
  holdServingFailures(tenant: string, pluginId: string, instanceId: string): (handled: boolean) => void {
    return this.#failures.hold(tenant, pluginId, instanceId);
  }

  get store(): InstallStore {
    return this.#d.store;
  }

  servingInstance(tenant: string, pluginId: string): InstanceInfo | undefined {
    const id = this.#serving.get(`${tenant}\0${pluginId}`);
    return id ? this.#d.supervisor.get(id) : undefined;
  }

  /** Fed from the Supervisor's onEvent: turns "the instance is being health-checked" into a stage. */
  onSupervisorEvent(event: SupervisorEvent): void {
    const instance = event.instance;
    if (event.type === 'instance.state') {
      for (const [installId, s] of this.#starting) {
        if (
          s.tenant === instance.tenant &&
          s.pluginId === instance.pluginId &&
          s.version === instance.version &&
          (!s.instanceId || s.instanceId === instance.id)
        ) {
          s.instanceId = instance.id;
          if (instance.state === 'health_check' && !s.healthSeen) {
            s.healthSeen = this.#d.store
              .update(installId, { instance_id: instance.id, instance_pid: instance.pid ?? null })
              .then(() => this.#transition(installId, 'health_check'));
          }
        }
      }
    }
    if (event.type === 'instance.failed') this.#failures.onInstanceFailed(instance, event.failure);
  }

  // ---------------------------------------------------------------- upload install

  /** Creates the install (state received) and runs the pipeline in the background. */
  async startUploadInstall(input: {
    principal: Principal;
    tenant: string;
    uploadPath: string;
    packageBytes: number;
    config: InstallConfig;
    idempotencyKey?: string;
    dev?: boolean;
  }): Promise<InstallRow> {
    const row = await this.#d.store.create({
      kind: 'install',
      tenant: input.tenant,
      actorId: input.principal.userId,
      idempotencyKey: input.idempotencyKey,
      packageBytes: input.packageBytes,
      flow: input.dev ? 'dev' : 'upload',
    });
    // Dev installs (issue 5, packages/core/src/dev/): unsigned allowed in sandbox tenants, config carried over, dev metrics.
    if (input.dev) this.#devInstalls.add(row.id);
    await this.#d.audit.append({
      actor: input.principal.username,
      tenant: input.tenant,
      action: 'plugin.package.upload',
      target: row.id,
      outcome: 'ok',
      details: { bytes: input.packageBytes },
    });
    this.#track(
      withLogContext({ installId: row.id }, () =>
        this.#runUpload(row.id, input.principal, input.uploadPath, input.config),
      ),
      row.id,
    );
    return row;
  }

  /** Background work of an install; waiters also wait for its clean-up after the final state. */
  readonly #taskOf = new Map<string, Promise<unknown>>();

  #track(task: Promise<unknown>, installId?: string): void {
    this.#tasks.add(task);
    if (installId) this.#taskOf.set(installId, task);
    void task.finally(() => {
      this.#tasks.delete(task);
      if (installId && this.#taskOf.get(installId) === task) this.#taskOf.delete(installId);
      if (installId) this.#changes.emit(installId);
    });
  }

  async #runUpload(
    id: string,
    principal: Principal,
    uploadPath: string,
    inputConfig: InstallConfig,
  ): Promise<void> {
    let stage = 'validating';
    const started = performance.now();
    try {
      await this.#transition(id, 'validating');
      const row = (await this.#d.store.get(id))!;
      const tenant = await this.#d.tenants.require(row.tenant_id);
      const trustedKeys = [
        ...this.#d.platformKeys,
        ...(tenant.kind === 'sandbox' ? await this.#d.identity.developerKeyPems(principal.userId) : []),
      ];
      const dev = this.#devInstalls.has(id);
      const allowUnsigned = this.#d.devMode && tenant.kind === 'sandbox' && (tenant.allowUnsigned || dev);
      const report = await this.#d.validator.validate(uploadPath, {
        trustedKeys,
        coreVersion: this.#d.coreVersion,
        allowUnsigned,
        maxPackageBytes: Math.floor(this.#d.limits.forTenant(tenant.id).maxPackageMb * 1024 * 1024),
        stagingRoot: this.#d.paths.staging,
        keepStaging: true,
      });
      if (report.stagingDir) await this.#d.store.update(id, { staging_dir: report.stagingDir });
      await this.#d.store.update(id, {
        package_sha256: report.packageSha256 ?? null,
        signer_key_id: report.signer?.keyId ?? null,
        unsigned: report.signer ? 0 : 1,
        report: JSON.stringify({ checks: report.checks }),
      });
      this.#d.metrics.recordSignatureOutcome(tenant.id, report);
      const failed = report.checks.find((c) => !c.ok && c.code) ?? report.checks.find((c) => !c.ok);
      if (!report.ok || !report.manifest || failed) {
        await this.#d.audit.append({
          actor: principal.username,
          tenant: tenant.id,
          action: 'plugin.package.validate',
          target: report.manifest?.id ?? id,
          outcome: 'failed',
          details: {
            installId: id,
            signer: report.signer?.keyId ?? null,
            failed: report.checks.filter((c) => !c.ok && c.code).map((c) => c.code),
          },
        });
        if (failed?.code && SIGNATURE_CODES.has(failed.code)) this.#d.metrics.signatureFailures.inc();
        throw checkError(failed);
      }
      const manifest = report.manifest;
      if (!report.signer) {
        await this.#d.audit.append({
          actor: principal.username,
          tenant: tenant.id,
          action: 'plugin.package.unsigned_accepted',
          target: manifest.id,
          outcome: 'ok',
          details: {
            installId: id,
            reason: dev
              ? 'dev install (px-plugin dev) on a dev-mode core, sandbox tenant'
              : 'dev-mode core, sandbox tenant that allows unsigned packages',
          },
        });
      }
      // Tenant checks and claiming the plugin happen under the tenant lock, so two installs can
      // neither both pass the quota nor both install the same plugin.
      await this.#tenantLock.run(tenant.id, async () => {
        let other = await this.#d.store.otherInFlight(tenant.id, manifest.id, id);
        if (other?.state === 'awaiting_config' && (await this.#isWaitingForConfig(other.id))) {
          // An install only waiting for wizard values is not installing anything: a new upload supersedes it.
          await this.#cancelWaiting(other, principal.username, `superseded by install ${id}`);
          other = await this.#d.store.otherInFlight(tenant.id, manifest.id, id);
        }
        const checks: ValidationCheck[] = [...report.checks];
        if (other) {
          const e = new ConflictError('INSTALL_IN_PROGRESS', {
            plugin: manifest.id,
            tenant: tenant.id,
            installId: other.id,
          });
          checks.push({
            id: 'tenant.serialized',
            title: 'No other install of this plugin is running',
            ok: false,
            code: e.code,
            message: e.message,
            hint: e.hint,
          });
          await this.#d.store.update(id, {
            plugin_id: manifest.id,
            version: manifest.version,
            report: JSON.stringify({ checks }),
          });
          throw e;
        }
        const installed = await installedPlugins(this.#d.db, tenant.id);
        if (!checks.some((c) => c.id.startsWith('core.')))
          checks.push(checkCoreCompatibility(manifest, this.#d.coreVersion));
        checks.push(checkDependencies(manifest, tenant.id, installed));
        checks.push(checkConflicts(manifest, installed));
        checks.push(checkRuntimeKind(manifest, tenant.id, this.#d.limits.forTenant(tenant.id)));
        checks.push(
          await checkQuota(this.#d.db, tenant.id, manifest, id, this.#d.limits.forTenant(tenant.id)),
        );
        const bad = checks.find((c) => !c.ok);
        await this.#d.store.update(id, {
          plugin_id: manifest.id,
          version: manifest.version,
          report: JSON.stringify({ checks }),
          ...(bad ? {} : { manifest: JSON.stringify(manifest) }),
        });
        await this.#d.audit.append({
          actor: principal.username,
          tenant: tenant.id,
          action: 'plugin.package.validate',
          target: manifest.id,
          outcome: bad ? 'failed' : 'ok',
          details: {
            installId: id,
            version: manifest.version,
            signer: report.signer?.keyId ?? null,
            failed: checks.filter((c) => !c.ok).map((c) => c.code),
          },
        });
        if (bad) throw checkError(bad);
      });

      stage = 'awaiting_config';
      await this.#transition(id, 'awaiting_config');
      const resolved = resolveConfig(
        manifest,
        inputConfig,
        dev ? await this.#activeConfig(tenant.id, manifest.id) : undefined,
      );
      await this.#saveConfig(id, resolved);
      await this.#d.audit.append({
        actor: principal.username,
        tenant: tenant.id,
        action: 'plugin.config.submit',
        target: manifest.id,
        outcome: resolved.missing.length ? 'started' : 'ok',
        details: configAuditDetails(id, resolved),
      });
      if (resolved.missing.length && dev)
        throw new PxError(
          'CONFIG_REQUIRED_MISSING',
          { names: resolved.missing.join(', ') },
          {
            hint: 'Give the values a default in plugin.yaml, or set them once with `px-plugin install` / the Admin; dev reloads carry them over.',
          },
        );
      if (resolved.missing.length) {
        // Waits here (persisted) until POST /api/installs/:id/config completes it; the package
        // blob is kept with it (the upload file itself is removed when this task ends).
        await this.#d.blobs.put(`${id}.pxp`, uploadPath);
        await this.#markWaiting(id);
        return;
      }
      await this.#provisionAndActivate(id, principal.username, resolved, uploadPath, started);
    } catch (error) {
      await this.#rollback(
        id,
        error instanceof StageError ? error.stage : stage,
        error,
        principal.username,
        started,
      );
    } finally {
      this.#devInstalls.delete(id);
      await rm(uploadPath, { force: true });
    }
  }

  /** Config and secrets of the serving install, carried over by dev reloads. */
  async #activeConfig(
    tenant: string,
    pluginId: string,
  ): Promise<
    | {
        env: Record<string, string | number | boolean>;
        secrets: Record<string, string>;
        logLevel: LogLevel;
        explicitEnv?: string[];
      }
    | undefined
  > {
    const plugin = await this.#d.db
      .selectFrom('plugins')
      .select('active_install_id')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    const active = plugin && (await this.#d.store.get(plugin.active_install_id));
    return active ? this.#storedConfig(active) : undefined;
  }

  async #markWaiting(id: string): Promise<void> {
    await this.#d.db
      .updateTable('install_stages')
      .set({ outcome: 'waiting' })
      .where('install_id', '=', id)
      .where('stage', '=', 'awaiting_config')
      .where('finished_at', 'is', null)
      .execute();
    this.#changes.emit(id);
  }

  async #saveConfig(id: string, resolved: ResolvedConfig): Promise<void> {
    const stored: StoredConfig = {
      env: resolved.env,
      secrets: Object.keys(resolved.secrets),
      logLevel: resolved.logLevel,
      ...(resolved.missing.length ? { missing: resolved.missing } : {}),
      explicitEnv: resolved.explicitEnv,
    };
    await this.#d.store.update(id, {
      config: JSON.stringify(stored),
      secrets_enc: Object.keys(resolved.secrets).length ? this.#d.secrets.sealJson(resolved.secrets) : null,
    });
  }

  #storedConfig(row: InstallRow): {
    env: Record<string, string | number | boolean>;
    secrets: Record<string, string>;
    logLevel: LogLevel;
    explicitEnv?: string[];
  } {
    const stored: StoredConfig = row.config
      ? (JSON.parse(row.config) as StoredConfig)
      : { env: {}, secrets: [], logLevel: 'info' as LogLevel };
    // Configs saved before explicit names were recorded: infer them against that install's manifest.
    const explicitEnv =
      stored.explicitEnv ??
      (row.manifest ? inferExplicitEnv(JSON.parse(row.manifest) as Manifest, stored.env) : undefined);
    return {
      env: stored.env,
      secrets: this.#d.secrets.openJson(row.secrets_enc),
      logLevel: stored.logLevel,
      ...(explicitEnv ? { explicitEnv } : {}),
    };
  }

  /** Completes the wizard of an install waiting in awaiting_config. */
  async submitConfig(principal: Principal, installId: string, input: InstallConfig): Promise<InstallRow> {
    const row = await this.#d.store.get(installId);
    if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId });
    await this.#d.tenants.assertDevAccess(principal, row.tenant_id);
    if (row.state !== 'awaiting_config')
      throw new ConflictError(
        'BAD_REQUEST',
        { detail: `Install ${installId} is ${row.state}, not awaiting_config` },
        { hint: 'Only an install waiting for configuration takes wizard values.' },
      );
    const manifest = JSON.parse(row.manifest!) as Manifest;
    let resolved: ResolvedConfig;
    try {
      resolved = resolveConfig(manifest, input, this.#storedConfig(row));
    } catch (error) {
      await this.#d.audit.append({
        actor: principal.username,
        tenant: row.tenant_id,
        action: 'plugin.config.submit',
        target: row.plugin_id,
        outcome: 'failed',
        details: {
          installId,
          code: (error as PxError).code,
          env: Object.keys(input.env ?? {}),
          secrets: Object.keys(input.secrets ?? {}),
        },
      });
      throw error;
    }
    await this.#saveConfig(installId, resolved);
    await this.#d.audit.append({
      actor: principal.username,
      tenant: row.tenant_id,
      action: 'plugin.config.submit',
      target: row.plugin_id,
      outcome: resolved.missing.length ? 'started' : 'ok',
      details: configAuditDetails(installId, resolved),
    });
    if (resolved.missing.length)
      throw new PxError(
        'CONFIG_REQUIRED_MISSING',
        { names: resolved.missing.join(', ') },
        { hint: 'Provide the values in the install wizard, with --env / --secret, or a --config file.' },
      );
    const started = performance.now() - (Date.now() - new Date(row.created_at).getTime());
    await this.#d.db
      .updateTable('install_stages')
      .set({ outcome: 'running' })
      .where('install_id', '=', installId)
      .where('stage', '=', 'awaiting_config')
      .where('finished_at', 'is', null)
      .execute();
    this.#track(
      withLogContext({ installId }, () =>
        this.#provisionAndActivate(installId, principal.username, resolved, undefined, started),
      ).catch((error) =>
        this.#rollback(
          installId,
          error instanceof StageError ? error.stage : 'provisioning',
          error,
          principal.username,
          started,
        ),
      ),
      installId,
    );
    return (await this.#d.store.get(installId))!;
  }

  /** Cancels an install waiting in awaiting_config: rolled back like any failure, with INSTALL_CANCELLED. */
  async cancel(principal: Principal, installId: string): Promise<void> {
    const row = await this.#d.store.get(installId);
    if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId });
    await this.#d.tenants.assertDevAccess(principal, row.tenant_id);
    if (row.state !== 'awaiting_config' || !(await this.#isWaitingForConfig(installId))) {
      throw new ConflictError(
        'BAD_REQUEST',
        {
          detail: `Install ${installId} is ${row.state}; only an install waiting for configuration can be cancelled`,
        },
        { hint: 'Wait for it to finish; then roll back or uninstall.' },
      );
    }
    await this.#cancelWaiting(row, principal.username, `cancelled by ${principal.username}`);
  }

  /**
   * Installs left waiting for configuration longer than `maxAgeMs` are cancelled: they hold quota
   * and the plugin's install slot, and nobody is coming back for them.
   */
  async expireWaiting(maxAgeMs: number, now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - maxAgeMs).toISOString();
    const stale = await this.#d.db
      .selectFrom('installs')
      .selectAll()
      .where('state', '=', 'awaiting_config')
      .where('created_at', '<', cutoff)
      .execute();
    let expired = 0;
    for (const row of stale) {
      if (!(await this.#isWaitingForConfig(row.id))) continue;
      await this.#cancelWaiting(
        row,
        'system',
        `it waited more than ${Math.round(maxAgeMs / 3_600_000)} h for configuration`,
      );
      expired++;
    }
    return expired;
  }

  async #cancelWaiting(row: InstallRow, actor: string, reason: string): Promise<void> {
    const error = new PxError('INSTALL_CANCELLED', { reason, installId: row.id });
    await this.#rollback(
      row.id,
      'awaiting_config',
      new StageError('awaiting_config', error),
      actor,
      performance.now() - (Date.now() - new Date(row.created_at).getTime()),
    );
  }

  async #provisionAndActivate(
    id: string,
    actor: string,
    resolved: ResolvedConfig,
    uploadPath: string | undefined,
    started: number,
  ): Promise<void> {
    let stage = 'provisioning';
    try {
      await this.#transition(id, 'provisioning');
      const row = (await this.#d.store.get(id))!;
      const pluginId = row.plugin_id!;
      const tenant = row.tenant_id;
      // Dev installs: a content-addressed folder (c-<sha256 of the package>); the same build again reuses it.
      const contentAddressed = this.#devInstalls.has(id) && row.package_sha256;
      const versionDir = this.#d.paths.versionDir(
        tenant,
        pluginId,
        contentAddressed ? `c-${row.package_sha256!.slice(0, 32)}` : id,
      );
      await mkdir(dirname(versionDir), { recursive: true });
      if (!row.staging_dir) throw new PxError('INTERNAL', { ref: `no staging folder for install ${id}` });
      if (contentAddressed && (await exists(versionDir)))
        await rm(row.staging_dir, { recursive: true, force: true });
      else await rename(row.staging_dir, versionDir);
      await this.#d.store.update(id, { version_dir: versionDir, staging_dir: null });
      const dataDir = this.#d.paths.pluginDataDir(tenant, pluginId);
      if (!(await exists(dataDir))) {
        await mkdir(dataDir, { recursive: true });
        await this.#d.store.update(id, { created_data_dir: 1 });
      }
      if (uploadPath) await this.#d.blobs.put(`${id}.pxp`, uploadPath);
      await this.#d.audit.append({
        actor,
        tenant,
        action: 'plugin.install.provisioned',
        target: pluginId,
        outcome: 'ok',
        details: {
          installId: id,
          stage: 'provisioning',
          storageNamespace: `${tenant}/${pluginId}`,
          secrets: Object.keys(resolved.secrets),
        },
      });
      stage = 'starting';
      await this.#activate(id, actor, { seed: true }, started);
    } catch (error) {
      throw error instanceof StageError ? error : new StageError(stage, toPxError(error, this.#d.log));
    }
  }

  /**
   * starting → health_check → (seeding) → running for the install row `id`, whose version_dir,
   * manifest, config and secrets are set. Switches the plugin to it in one transaction.
   */
  async #activate(id: string, actor: string, opts: { seed: boolean }, started: number): Promise<void> {
    let stage = 'starting';
    const row = (await this.#d.store.get(id))!;
    const manifest = JSON.parse(row.manifest!) as Manifest;
    const tenant = row.tenant_id;
    const pluginId = row.plugin_id!;
    const config = this.#storedConfig(row);
    const entry = { tenant, pluginId, version: manifest.version } as {
      tenant: string;
      pluginId: string;
      version: string;
      instanceId?: string;
      healthSeen?: Promise<unknown>;
    };
    try {
      await this.#transition(id, 'starting');
      this.#starting.set(id, entry);
      const spec: StartSpec = {
        tenant,
        pluginId,
        version: manifest.version,
        versionDir: await materializeVersionDir(this.#d, row),
        dataDir: this.#d.paths.pluginDataDir(tenant, pluginId),
        manifest,
        config: config.env,
        secrets: config.secrets,
        logLevel: config.logLevel,
      };
      let info: InstanceInfo;
      try {
        info = await this.#d.supervisor.start(spec);
      } finally {
        if (entry.healthSeen) {
          await entry.healthSeen;
          stage = 'health_check';
        }
      }
      entry.instanceId = info.id;
      await this.#d.store.update(id, { instance_id: info.id, instance_pid: info.pid ?? null });
      stage = 'health_check';
      if (!entry.healthSeen) await this.#transition(id, 'health_check');
      if (this.#closing) throw new PxError('INSTALL_INTERRUPTED', { stage });

      stage = 'seeding';
      await this.#transition(id, 'seeding');
      if (opts.seed) await this.#seed(id, tenant, pluginId, manifest, info.id);

      stage = 'running';
      await this.#switchIn(id, row, manifest, started);
      this.#starting.delete(id);
    } catch (error) {
      const instanceId = entry.instanceId;
      this.#starting.delete(id);
      if (instanceId)
        await this.#d.supervisor
          .stop(instanceId, { reason: 'install rolled back', graceMs: 1000 })
          .catch(() => {});
      throw error instanceof StageError
        ? error
        : new StageError(
            stage,
            toPxError(error, this.#d.log, stage === 'seeding' ? 'SEED_FAILED' : undefined),
          );
    }
  }

  async #seed(
    id: string,
    tenant: string,
    pluginId: string,
    manifest: Manifest,
    instanceId: string,
  ): Promise<void> {
    // Generated data only on a first install (an upgrade keeps the data the plugin has).
    if (manifest.sandbox.testData.length && !(await this.#d.storage.hasAnyDocs(tenant, pluginId))) {
      const data = await this.#d.generateTestData(
        manifest.sandbox.testData,
        `${tenant}/${pluginId}/${manifest.version}`,
      );
      for (const [collection, docs] of Object.entries(data))
        await this.#d.storage.insertMany(tenant, pluginId, collection, docs, id);
    }
    // Always ask: the hook is either the module at sandbox.seed or definePlugin's `seed`, and only
    // the runner knows whether the plugin defined one (it answers at once when there is none).
    await this.#d.supervisor.runSeed(instanceId);
  }

  /** The switch: one transaction makes the new install active and the old one last stable. */
  async #switchIn(id: string, row: InstallRow, manifest: Manifest, started: number): Promise<void> {
    const tenant = row.tenant_id;
    const pluginId = row.plugin_id!;
    const now = new Date();
    const durationMs = Math.round(performance.now() - started);
    const current = await this.#d.db
      .selectFrom('plugins')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    // A rollback to last stable leaves no stable behind it; anything else pushes the current one there
    // — unless the current one failed while serving (serving-failures.ts): a failed version is never
    // "stable", so the last stable one stays and the failed one is dropped instead.
    const currentFailed = current?.status === 'failed';
    const lastStable =
      row.kind === 'rollback'
        ? { id: null, version: null }
        : current && !currentFailed
          ? { id: current.active_install_id, version: current.active_version }
          : current
            ? { id: current.last_stable_install_id, version: current.last_stable_version }
            : { id: null, version: null };
    const displaced = current
      ? (row.kind === 'rollback'
          ? [current.last_stable_install_id, current.active_install_id]
          : currentFailed
            ? [current.active_install_id]
            : [current.last_stable_install_id]
        ).filter((x): x is string => !!x)
      : [];
    await this.#d.db.transaction().execute(async (trx) => {
      const values = {
        active_install_id: id,
        active_version: manifest.version,
        last_stable_install_id: lastStable.id,
        last_stable_version: lastStable.version,
        status: 'running',
        memory_mb: manifest.resources.memoryMb,
        disk_mb: manifest.resources.diskMb,
        cpu_percent: manifest.resources.cpuPercent,
        package_bytes: row.package_bytes,
        updated_at: now.toISOString(),
      };
      if (current)
        await trx
          .updateTable('plugins')
          .set(values)
          .where('tenant_id', '=', tenant)
          .where('plugin_id', '=', pluginId)
          .execute();
      else
        await trx
          .insertInto('plugins')
          .values({ tenant_id: tenant, plugin_id: pluginId, installed_at: now.toISOString(), ...values })
          .execute();
      const open = await trx
        .selectFrom('install_stages')
        .select(['id', 'stage', 'started_at'])
        .where('install_id', '=', id)
        .where('finished_at', 'is', null)
        .execute();
      for (const s of open)
        await trx
          .updateTable('install_stages')
          .set({
            finished_at: now.toISOString(),
            duration_ms: now.getTime() - new Date(s.started_at).getTime(),
            outcome: 'ok',
          })
          .where('id', '=', s.id)
          .execute();
      // The last stage (seeding) closes here, not in #transition: observe its duration too.
      for (const s of open)
        this.#d.metrics.stageDuration.observe(
          { stage: s.stage },
          (now.getTime() - new Date(s.started_at).getTime()) / 1000,
        );
      await trx
        .insertInto('install_stages')
        .values({
          install_id: id,
          stage: 'running',
          started_at: now.toISOString(),
          finished_at: now.toISOString(),
          duration_ms: 0,
          outcome: 'ok',
          code: null,
        })
        .execute();
      await trx
        .updateTable('installs')
        .set({
          state: 'running',
          finished_at: now.toISOString(),
          duration_ms: durationMs,
          updated_at: now.toISOString(),
          previous_install_id: current?.active_install_id ?? null,
        })
        .where('id', '=', id)
        .execute();
    });
    const key = `${tenant}\0${pluginId}`;
    const oldInstance = this.#serving.get(key);
    this.#serving.set(key, (await this.#d.store.get(id))!.instance_id!);
    // In a cluster this node now serves the plugin: it takes the lease, the previous owner drains.
    await this.#d.placement?.serving(tenant, pluginId);
    this.#changes.emit(id);
    // Requests the entry proxy routed to the old instance just before the switch are still on their way to its socket: let them land, then stop it (in-flight ones finish within the grace).
    // Retiring the old instance and dropping displaced version folders is not on the install's
    // critical path: the new version already serves. close() still waits for it (#tasks).
    const retire = (async () => {
      if (oldInstance)
        await new Promise((resolve) => setTimeout(resolve, SWITCH_DRAIN_MS))
          .then(() =>
            this.#d.supervisor.stop(oldInstance, { reason: 'replaced by a new version', graceMs: 2000 }),
          )
          .catch(() => {});
      for (const installId of displaced)
        await this.#dropVersion(installId).catch((error: unknown) =>
          this.#d.log.warn({ err: error, installId }, 'could not drop a displaced version'),
        );
    })();
    this.#tasks.add(retire);
    void retire.finally(() => this.#tasks.delete(retire));
    const actorRow = await this.#d.db
      .selectFrom('users')
      .select('username')
      .where('id', '=', row.actor_id)
      .executeTakeFirst();
    const actor = actorRow?.username ?? row.actor_id;
    const action =
      row.kind === 'install'
        ? 'plugin.install.completed'
        : row.kind === 'reconfigure'
          ? 'plugin.reconfigure.completed'
          : 'plugin.rollback.completed';
    this.#d.log.info(
      {
        installId: id,
        stage: 'running',
        kind: row.kind,
        tenant,
        pluginId,
        version: manifest.version,
        durationMs,
      },
      'install running',
    );
    await this.#d.audit.append({
      actor,
      tenant,
      action,
      target: pluginId,
      outcome: 'ok',
      details: {
        installId: id,
        version: manifest.version,
        durationMs,
        previousInstallId: current?.active_install_id ?? null,
      },
    });
    // The persisted flow (not only #devInstalls, which a restart forgets) keeps dev out of the sandbox metrics.
    if (row.kind === 'install' && row.flow !== 'dev' && !this.#devInstalls.has(id)) {
      this.#d.metrics.installDuration.observe({ result: 'success' }, durationMs / 1000);
      this.#d.metrics.installTotal.inc({ result: 'success' });
      await this.#d.bus.publish('plugin.install.sandbox_completed', {
        tenant,
        plugin: pluginId,
        version: manifest.version,
        installId: id,
        durationMs,
      });
    }
  }

  async #versionDirUsedByOthers(versionDir: string, installId: string): Promise<boolean> {
    const other = await this.#d.db
      .selectFrom('installs')
      .select('installs.id')
      .where('installs.version_dir', '=', versionDir)
      .where('installs.id', '!=', installId)
      .where((eb) =>
        eb.or([
          eb('installs.state', 'not in', [...TERMINAL_STATES]),
          eb('installs.id', 'in', eb.selectFrom('plugins').select('active_install_id')),
          eb(
            'installs.id',
            'in',
            eb
              .selectFrom('plugins')
              .select('last_stable_install_id')
              .where('last_stable_install_id', 'is not', null),
          ),
        ]),
      )
      .executeTakeFirst();
    return !!other;
  }

  /** Removes the version folder and blob of an install no plugin refers to any more. */
  async #dropVersion(installId: string): Promise<void> {
    const row = await this.#d.store.get(installId);
    if (!row?.version_dir) return;
    const stillUsed = await this.#d.db
      .selectFrom('installs')
      .select('installs.id')
      .where('installs.version_dir', '=', row.version_dir)
      .where((eb) =>
        eb.or([
          eb('installs.state', 'not in', [...TERMINAL_STATES]),
          eb('installs.id', 'in', eb.selectFrom('plugins').select('active_install_id')),
          eb(
            'installs.id',
            'in',
            eb
              .selectFrom('plugins')
              .select('last_stable_install_id')
              .where('last_stable_install_id', 'is not', null),
          ),
        ]),
      )
      .executeTakeFirst();
    if (stillUsed) return;
    await rm(localVersionDir(this.#d.paths, row.version_dir), { recursive: true, force: true });
    if (row.kind === 'install') await this.#d.blobs.remove(`${row.id}.pxp`);
  }

  // ---------------------------------------------------------------- rollback of a failed install

  async #rollback(id: string, stage: string, cause: unknown, actor: string, started: number): Promise<void> {
    let error = cause instanceof StageError ? cause.error : toPxError(cause, this.#d.log);
    if (this.#closing && error.code !== 'INSTALL_INTERRUPTED' && error.code !== 'INSTALL_CANCELLED')
      error = new PxError('INSTALL_INTERRUPTED', { stage });
    try {
      await this.#transition(id, 'rolling_back', { closeOutcome: 'failed', code: error.code });
      await this.#undo(id);
      const durationMs = Math.round(performance.now() - started);
      await this.#d.store.update(id, {
        error_code: error.code,
        error_stage: stage,
        error_message: error.message,
        error_hint: error.hint,
        finished_at: new Date().toISOString(),
        duration_ms: durationMs,
      });
      await this.#transition(id, 'failed', { nextOutcome: 'failed', code: error.code });
      const row = (await this.#d.store.get(id))!;
      await this.#d.audit.append({
        actor,
        tenant: row.tenant_id,
        action: `plugin.${row.kind}.rolled_back`,
        target: row.plugin_id ?? row.id,
        outcome: 'failed',
        details: { installId: id, stage, code: error.code, message: error.message },
      });
      if (row.kind === 'install' && row.flow !== 'dev' && !this.#devInstalls.has(id)) {
        this.#d.metrics.installTotal.inc({ result: 'failed' });
        this.#d.metrics.installDuration.observe({ result: 'failed' }, durationMs / 1000);
        this.#d.metrics.rollbackTotal.inc({ stage });
        await this.#d.bus.publish('plugin.install.failed', {
          tenant: row.tenant_id,
          plugin: row.plugin_id,
          version: row.version,
          installId: id,
          durationMs,
          code: error.code,
          stage,
        });
      }
    } catch (secondary) {
      this.#d.log.error({ err: secondary, installId: id }, 'rollback failed');
    } finally {
      this.#changes.emit(id);
    }
  }

  /** Removes everything the install created. Safe to run twice and after a crash. */
  async #undo(id: string): Promise<void> {
    const row = (await this.#d.store.get(id))!;
    const inflight = this.#starting.get(id);
    const instanceId = inflight?.instanceId ?? row.instance_id;
    if (instanceId && this.#d.supervisor.get(instanceId))
      await this.#d.supervisor
        .stop(instanceId, { reason: 'install rolled back', graceMs: 1000 })
        .catch(() => {});
    else if (row.instance_pid) killLeftover(row.instance_pid, this.#d.paths.run);
    await this.#d.storage.deleteSeededBy(id);
    if (row.staging_dir) await rm(row.staging_dir, { recursive: true, force: true });
    if (row.kind === 'install') {
      // A content-addressed (dev) folder may also be the one of the serving or last stable install.
      if (row.version_dir && !(await this.#versionDirUsedByOthers(row.version_dir, id)))
        await rm(localVersionDir(this.#d.paths, row.version_dir), { recursive: true, force: true });
      await this.#d.blobs.remove(`${id}.pxp`);
    }
    if (row.plugin_id) {
      const installed = await this.#d.db
        .selectFrom('plugins')
        .select('plugin_id')
        .where('tenant_id', '=', row.tenant_id)
        .where('plugin_id', '=', row.plugin_id)
        .executeTakeFirst();
      if (!installed && row.created_data_dir) {
        await rm(this.#d.paths.pluginDataDir(row.tenant_id, row.plugin_id), { recursive: true, force: true });
      }
      // Empty folders this install made (versions/, the plugin and tenant folders) go too.
      await removeEmptyParents(
        dirname(this.#d.paths.versionDir(row.tenant_id, row.plugin_id, id)),
        this.#d.paths.tenants,
      );
    }
    await this.#d.store.update(id, {
      staging_dir: null,
      version_dir: row.kind === 'install' ? null : row.version_dir,
      secrets_enc: null,
      instance_id: null,
      instance_pid: null,
    });
  }

  // ---------------------------------------------------------------- reconfigure, rollback, uninstall

  async #requireInstalled(tenant: string, pluginId: string) {
    const plugin = await this.#d.db
      .selectFrom('plugins')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    if (!plugin) throw new NotFoundError('PLUGIN_NOT_FOUND', { plugin: pluginId, tenant });
    return plugin;
  }

  /** Claims the plugin for a new operation, or says which install holds it. */
  async #claim(tenant: string, pluginId: string, create: () => Promise<InstallRow>): Promise<InstallRow> {
    return this.#tenantLock.run(tenant, async () => {
      const other = await this.#d.db
        .selectFrom('installs')
        .select('id')
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .where('state', 'not in', [...TERMINAL_STATES])
        .executeTakeFirst();
      if (other)
        throw new ConflictError('INSTALL_IN_PROGRESS', { plugin: pluginId, tenant, installId: other.id });
      return create();
    });
  }

  /** Restart with new config next to the current instance; switch only when healthy. */
  async reconfigure(
    principal: Principal,
    tenant: string,
    pluginId: string,
    input: InstallConfig,
  ): Promise<InstallRow> {
    const plugin = await this.#requireInstalled(tenant, pluginId);
    const active = (await this.#d.store.get(plugin.active_install_id))!;
    const manifest = JSON.parse(active.manifest!) as Manifest;
    const resolved = resolveConfig(manifest, input, this.#storedConfig(active));
    if (resolved.missing.length)
      throw new PxError('CONFIG_REQUIRED_MISSING', { names: resolved.missing.join(', ') });
    const row = await this.#claim(tenant, pluginId, () =>
      this.#d.store.create({
        kind: 'reconfigure',
        tenant,
        actorId: principal.userId,
        pluginId,
        version: plugin.active_version,
        packageBytes: active.package_bytes,
        previousInstallId: active.id,
        flow: active.flow,
      }),
    );
    await this.#d.store.update(row.id, {
      manifest: active.manifest,
      version_dir: active.version_dir,
      package_sha256: active.package_sha256,
      signer_key_id: active.signer_key_id,
      unsigned: active.unsigned,
    });
    await this.#saveConfig(row.id, resolved);
    await this.#d.audit.append({
      actor: principal.username,
      tenant,
      action: 'plugin.reconfigure',
      target: pluginId,
      outcome: 'started',
      details: configAuditDetails(row.id, resolved),
    });
    this.#runActivation(row.id, principal.username, false);
    return row;
  }

  /** Serve the last stable version again. */
  async rollbackToStable(principal: Principal, tenant: string, pluginId: string): Promise<InstallRow> {
    const plugin = await this.#requireInstalled(tenant, pluginId);
    if (!plugin.last_stable_install_id) throw new ConflictError('NO_STABLE_VERSION', { plugin: pluginId });
    const stable = (await this.#d.store.get(plugin.last_stable_install_id))!;
    const row = await this.#claim(tenant, pluginId, () =>
      this.#d.store.create({
        kind: 'rollback',
        tenant,
        actorId: principal.userId,
        pluginId,
        version: stable.version,
        packageBytes: stable.package_bytes,
        previousInstallId: plugin.active_install_id,
        flow: stable.flow,
      }),
    );
    await this.#d.store.update(row.id, {
      manifest: stable.manifest,
      version_dir: stable.version_dir,
      config: stable.config,
      secrets_enc: stable.secrets_enc,
      package_sha256: stable.package_sha256,
      signer_key_id: stable.signer_key_id,
      unsigned: stable.unsigned,
    });
    await this.#d.audit.append({
      actor: principal.username,
      tenant,
      action: 'plugin.rollback',
      target: pluginId,
      outcome: 'started',
      details: { installId: row.id, from: plugin.active_version, to: stable.version },
    });
    this.#runActivation(row.id, principal.username, false);
    return row;
  }

  #runActivation(id: string, actor: string, seed: boolean): void {
    const started = performance.now();
    this.#track(
      withLogContext({ installId: id }, async () => {
        try {
          await this.#transition(id, 'validating');
          await this.#transition(id, 'awaiting_config');
          await this.#transition(id, 'provisioning');
          await this.#activate(id, actor, { seed }, started);
        } catch (error) {
          await this.#rollback(
            id,
            error instanceof StageError ? error.stage : 'starting',
            error,
            actor,
            started,
          );
        }
      }),
      id,
    );
  }

  async uninstall(
    principal: Principal,
    tenant: string,
    pluginId: string,
    opts: { force?: boolean; keepData?: boolean } = {},
  ): Promise<void> {
    await this.#tenantLock.run(tenant, async () => {
      const plugin = await this.#requireInstalled(tenant, pluginId);
      const other = await this.#d.db
        .selectFrom('installs')
        .select('id')
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .where('state', 'not in', [...TERMINAL_STATES])
        .executeTakeFirst();
      if (other)
        throw new ConflictError('INSTALL_IN_PROGRESS', { plugin: pluginId, tenant, installId: other.id });
      const dependents = (await installedPlugins(this.#d.db, tenant)).filter(
        (p) => p.pluginId !== pluginId && p.manifest?.requires?.[pluginId] !== undefined,
      );
      if (dependents.length && !opts.force) {
        throw new ConflictError(
          'PLUGIN_CONFLICT',
          { detail: `${dependents.map((d) => d.pluginId).join(', ')} require ${pluginId}` },
          { hint: `Uninstall ${dependents.map((d) => d.pluginId).join(', ')} first, or pass force=true.` },
        );
      }
      const key = `${tenant}\0${pluginId}`;
      const instanceId = this.#serving.get(key);
      if (instanceId)
        await this.#d.supervisor.stop(instanceId, { reason: 'uninstalled', graceMs: 2000 }).catch(() => {});
      this.#serving.delete(key);
      const installs = await this.#d.db
        .selectFrom('installs')
        .select(['id', 'kind'])
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .execute();
      await this.#d.db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('plugins')
          .where('tenant_id', '=', tenant)
          .where('plugin_id', '=', pluginId)
          .execute();
        await trx
          .updateTable('installs')
          .set({ secrets_enc: null, version_dir: null })
          .where('tenant_id', '=', tenant)
          .where('plugin_id', '=', pluginId)
          .execute();
      });
      // keepData (dev uninstall without "remove data"): storage and the data folder stay for the next install.
      if (!opts.keepData) await this.#d.storage.dropNamespace(tenant, pluginId);
      for (const i of installs) if (i.kind === 'install') await this.#d.blobs.remove(`${i.id}.pxp`);
      await rm(
        opts.keepData
          ? dirname(this.#d.paths.versionDir(tenant, pluginId, 'x'))
          : this.#d.paths.pluginRoot(tenant, pluginId),
        { recursive: true, force: true },
      );
      await removeEmptyParents(dirname(this.#d.paths.pluginRoot(tenant, pluginId)), this.#d.paths.tenants);
      // Other nodes stop their copy and drop their local files too.
      await this.#d.placement?.uninstalled(tenant, pluginId, !!opts.keepData);
      await this.#d.audit.append({
        actor: principal.username,
        tenant,
        action: 'plugin.uninstall',
        target: pluginId,
        outcome: 'ok',
        details: { version: plugin.active_version, force: !!opts.force, keepData: !!opts.keepData },
      });
    });
  }

  // ---------------------------------------------------------------- waiting, start-up, shutdown

  /** Resolves when the install is terminal or waiting for configuration. */
  async waitSettled(id: string, timeoutMs = 120_000): Promise<InstallRow> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.#d.store.get(id);
      if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId: id });
      const waiting = row.state === 'awaiting_config' && (await this.#isWaitingForConfig(id));
      if ((TERMINAL_STATES as readonly string[]).includes(row.state) || waiting || Date.now() > deadline) {
        const task = this.#taskOf.get(id);
        if (task && !waiting) {
          await task;
          return (await this.#d.store.get(id))!;
        }
        return row;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 250);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#changes.once(id, done);
      });
    }
  }

  /** awaiting_config is settled only once the pipeline marked the stage "waiting" (values missing). */
  async #isWaitingForConfig(id: string): Promise<boolean> {
    const open = await this.#d.db
      .selectFrom('install_stages')
      .select('outcome')
      .where('install_id', '=', id)
      .where('stage', '=', 'awaiting_config')
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    return open?.outcome === 'waiting';
  }

  /** Every stage change is persisted, timed, audited and announced to waiters. */
  async #transition(
    id: string,
    next: string,
    opts: Parameters<InstallStore['transition']>[2] = {},
  ): Promise<void> {
    const stages = await this.#d.db
      .selectFrom('install_stages')
      .select('stage')
      .where('install_id', '=', id)
      .where('finished_at', 'is', null)
      .execute();
    const ms = await this.#d.store.transition(id, next, opts);
    this.#d.log.info(
      {
        installId: id,
        stage: next,
        ...(ms !== undefined ? { previousMs: ms } : {}),
        ...(opts.code ? { code: opts.code } : {}),
      },
      'install stage',
    );
    for (const s of stages)
      if (ms !== undefined) this.#d.metrics.stageDuration.observe({ stage: s.stage }, ms / 1000);
    const row = await this.#d.db
      .selectFrom('installs')
      .select(['tenant_id', 'plugin_id', 'actor_id', 'kind'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (row) {
      await this.#d.audit.append({
        actor: await this.#actorName(row.actor_id),
        tenant: row.tenant_id,
        action: `plugin.${row.kind}.stage`,
        target: row.plugin_id ?? id,
        outcome: next === 'failed' || opts.closeOutcome === 'failed' ? 'failed' : 'ok',
        details: {
          installId: id,
          stage: next,
          previous: stages.map((s) => s.stage),
          ...(ms !== undefined ? { previousMs: ms } : {}),
          ...(opts.code ? { code: opts.code } : {}),
        },
      });
    }
    this.#changes.emit(id);
  }

  readonly #actorNames = new Map<string, string>();
  async #actorName(userId: string): Promise<string> {
    let name = this.#actorNames.get(userId);
    if (!name) {
      name =
        (await this.#d.db.selectFrom('users').select('username').where('id', '=', userId).executeTakeFirst())
          ?.username ?? userId;
      this.#actorNames.set(userId, name);
    }
    return name;
  }

  /**
   * On start: roll back every install a crash left mid-way (nothing half-installed survives a
   * restart), remove stray uploads and staging folders, then start the serving version of every
   * installed plugin (falling back to the last stable one if it does not come up).
   */
  async recover(): Promise<{ rolledBack: number; started: number; failed: number }> {
    await rm(this.#d.paths.uploads, { recursive: true, force: true });
    await mkdir(this.#d.paths.uploads, { recursive: true });
    // Rows in awaiting_config count too unless the pipeline settled them as "waiting" (values
    // missing, blob kept): a crash between entering the stage and #markWaiting, or between
    // submitConfig and provisioning, leaves one that nothing would ever finish — it would block
    // every later upload of the plugin (INSTALL_IN_PROGRESS) and keep its quota reserved.
    const unsettled = [];
    for (const row of await this.#d.db
      .selectFrom('installs')
      .selectAll()
      .where('state', '=', 'awaiting_config')
      .execute()) {
      if (!(await this.#isWaitingForConfig(row.id))) unsettled.push(row);
    }
    // In a cluster: only installs of this node (a restart under the same PX_NODE_ID) or of nodes
    // that are gone; another live node is still running its own.
    const placement = this.#d.placement;
    const unfinished = [];
    for (const row of [...(await this.#d.store.unfinished()), ...unsettled])
      if (!placement || (await placement.abandoned(row.node_id))) unfinished.push(row);
    await this.#rollBackInterrupted(unfinished);
    await this.#sweepStaging();
    await this.#sweepOrphanVersions();
    // In a cluster the placement starts plugins as this node takes their leases.
    if (placement) return { rolledBack: unfinished.length, started: 0, failed: 0 };
    const plugins = await this.#d.db.selectFrom('plugins').selectAll().execute();
    let started = 0,
      failed = 0;
    await mapLimited(plugins, 4, async (plugin) => {
      if (await this.startServingPlugin(plugin.tenant_id, plugin.plugin_id)) started++;
      else failed++;
    });
    return { rolledBack: unfinished.length, started, failed };
  }

  /** Cluster: rolls back unfinished installs whose node is gone (no install stays stuck). */
  async rollBackAbandoned(): Promise<number> {
    const placement = this.#d.placement;
    if (!placement || this.#closing) return 0;
    const rows = [];
    for (const row of await this.#d.store.unfinished())
      if (row.node_id !== placement.nodeId && (await placement.abandoned(row.node_id))) rows.push(row);
    await this.#rollBackInterrupted(rows);
    return rows.length;
  }

  async #rollBackInterrupted(unfinished: InstallRow[]): Promise<void> {
    for (const row of unfinished) {
      const stage = row.state === 'rolling_back' ? (row.error_stage ?? 'rolling_back') : row.state;
      const error = new PxError('INSTALL_INTERRUPTED', { stage });
      await this.#rollback(
        row.id,
        stage,
        new StageError(stage, error),
        'system',
        performance.now() - (Date.now() - new Date(row.created_at).getTime()),
      );
      // An interrupted dev reload is a failed dev install (#rollback counted uploads only): dev metrics, not sandbox ones.
      if (row.kind === 'install' && row.flow === 'dev')
        this.#d.metrics.recordDevInstall(
          row.tenant_id,
          false,
          Math.max(0, Date.now() - new Date(row.created_at).getTime()) / 1000,
          true,
        );
    }
  }

  /**
   * Starts the serving version of an installed plugin on this node (at start, or when this node
   * took the plugin over in a cluster), falling back to the last stable one; false when neither
   * comes up (the plugin is marked failed).
   */
  async startServingPlugin(tenant: string, pluginId: string): Promise<boolean> {
    const plugin = await this.#d.db
      .selectFrom('plugins')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    if (!plugin) return false;
    if (
      (await this.#startServing(tenant, pluginId, plugin.active_install_id)) ||
      (plugin.last_stable_install_id &&
        (await this.#startServing(tenant, pluginId, plugin.last_stable_install_id)))
    )
      return true;
    await this.#d.db
      .updateTable('plugins')
      .set({ status: 'failed' })
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
    return false;
  }

  /** Cluster: stops this node's instance of a plugin another node now serves, or that is gone. */
  async stopServingPlugin(tenant: string, pluginId: string, reason: string): Promise<void> {
    const key = `${tenant}\0${pluginId}`;
    const instanceId = this.#serving.get(key);
    this.#serving.delete(key);
    if (instanceId) await this.#d.supervisor.stop(instanceId, { reason, graceMs: 2000 }).catch(() => {});
  }

  /** (tenant, plugin) pairs this node serves. */
  servedPlugins(): Array<{ tenant: string; pluginId: string }> {
    return [...this.#serving.keys()].map((k) => {
      const [tenant, pluginId] = k.split('\0');
      return { tenant, pluginId };
    });
  }

  async #startServing(tenant: string, pluginId: string, installId: string): Promise<boolean> {
    const row = await this.#d.store.get(installId);
    if (!row?.manifest || !row.version_dir) return false;
    const manifest = JSON.parse(row.manifest) as Manifest;
    const config = this.#storedConfig(row);
    try {
      const info = await this.#d.supervisor.start({
        tenant,
        pluginId,
        version: manifest.version,
        versionDir: await materializeVersionDir(this.#d, row),
        dataDir: this.#d.paths.pluginDataDir(tenant, pluginId),
        manifest,
        config: config.env,
        secrets: config.secrets,
        logLevel: config.logLevel,
      });
      this.#serving.set(`${tenant}\0${pluginId}`, info.id);
      await this.#d.db
        .updateTable('plugins')
        .set({ status: 'running' })
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .execute();
      return true;
    } catch (error) {
      this.#d.log.warn(
        { tenant, pluginId, installId, code: (error as PxError).code },
        'plugin did not start at core start',
      );
      await this.#d.audit.append({
        actor: 'system',
        tenant,
        action: 'plugin.instance.start',
        target: pluginId,
        outcome: 'failed',
        details: { installId, code: (error as PxError).code ?? 'INTERNAL' },
      });
      return false;
    }
  }

  /**
   * Version folders and blobs no install refers to any more (a crash between the switch and the
   * clean-up of the displaced version leaves one behind) are removed at start.
   */
  async #sweepOrphanVersions(): Promise<void> {
    const keep = new Set(
      (
        await this.#d.db
          .selectFrom('installs')
          .select('version_dir')
          .where('version_dir', 'is not', null)
          .where((eb) =>
            eb.or([
              eb('state', 'not in', [...TERMINAL_STATES]),
              eb('id', 'in', eb.selectFrom('plugins').select('active_install_id')),
              eb(
                'id',
                'in',
                eb
                  .selectFrom('plugins')
                  .select('last_stable_install_id')
                  .where('last_stable_install_id', 'is not', null),
              ),
            ]),
          )
          .execute()
      ).map((r) => localVersionDir(this.#d.paths, r.version_dir!)),
    );
    for (const tenant of await readdir(this.#d.paths.tenants).catch(() => [] as string[])) {
      for (const plugin of await readdir(join(this.#d.paths.tenants, tenant, 'plugins')).catch(
        () => [] as string[],
      )) {
        const versions = dirname(this.#d.paths.versionDir(tenant, plugin, 'x'));
        for (const installId of await readdir(versions).catch(() => [] as string[])) {
          const dir = join(versions, installId);
          if (keep.has(dir)) continue;
          this.#d.log.warn({ dir }, 'removing a version folder no install refers to');
          await rm(dir, { recursive: true, force: true });
          await this.#d.blobs.remove(`${installId}.pxp`);
        }
      }
    }
  }

  async #sweepStaging(): Promise<void> {
    const keep = new Set(
      (
        await this.#d.db
          .selectFrom('installs')
          .select('staging_dir')
          .where('staging_dir', 'is not', null)
          .execute()
      ).map((r) => r.staging_dir),
    );
    for (const name of await readdir(this.#d.paths.staging).catch(() => [] as string[])) {
      const path = `${this.#d.paths.staging}/${name}`;
      if (!keep.has(path)) await rm(path, { recursive: true, force: true });
    }
  }

  /**
   * Shutdown: plugins are stopped first, so an install in flight fails at once (a seed hook or
   * health gate could otherwise hold shutdown for a minute); its rollback records INSTALL_INTERRUPTED.
   */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#d.supervisor.stopAll({ graceMs: 2000 });
    await Promise.allSettled([...this.#tasks]);
    await this.#d.supervisor.stopAll();
    this.#serving.clear();
  }
}

function checkError(check: ValidationCheck | undefined): PxError {
  if (!check?.code) return new PxError('INTERNAL', { ref: 'validator reported failure without a check' });
  return new PxError(check.code as ErrorCode, {}, { message: check.message, hint: check.hint ?? '' });
}

export function toPxError(error: unknown, log: Logger, fallback?: ErrorCode): PxError {
  if (error instanceof StageError) return error.error;
  if (isPxError(error)) return error;
  if (fallback) return new PxError(fallback, { detail: (error as Error)?.message ?? String(error) });
  const ref = randomUUID().slice(0, 8);
  log.error({ err: error, ref }, 'unexpected error in install pipeline');
  return new PxError('INTERNAL', { ref });
}

function configAuditDetails(installId: string, resolved: ResolvedConfig): Record<string, unknown> {
  // Env values are not secret; secret values never enter the audit, only their names.
  return {
    installId,
    env: resolved.env,
    secrets: Object.keys(resolved.secrets),
    logLevel: resolved.logLevel,
    missing: resolved.missing,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function removeEmptyParents(dir: string, stopAt: string): Promise<void> {
  let current = dir;
  while (current.startsWith(stopAt) && current !== stopAt) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
    current = dirname(current);
  }
}

/** After a crash, a plugin process of the dead core may still run; stop it if it is ours. */
function killLeftover(pid: number, runDir: string): void {
  try {
    const cmdline = readCmdline(pid);
    // Only a process started from our run dir (the runner bundle lives there): a recycled pid is someone else's.
    if (cmdline.includes(runDir)) process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function readCmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

async function mapLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
