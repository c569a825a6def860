/**
 * What the parts of the install pipeline share: the services they call (PipelineDeps) and the
 * little in-memory state of one core — which instance serves each plugin, which instances are
 * being started for which install, the per-tenant lock, and the background work close() waits for.
 * Everything else lives in the database.
 */
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { PxError, isPxError, type ErrorCode, type Manifest } from '@powerx/protocol';
import type { LogSink } from '@powerx/runtime';
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
import type { PluginRepository } from '../plugins/plugin-repository.ts';
import type { CorePaths } from '../config/core-paths.ts';
import type { InstallStore } from './install-store.ts';
import { diskFullError, isDiskFull } from '../storage/disk-full.ts';
import type { PluginSupervisor } from './supervisor-port.ts';
import type { PackageValidator } from './package-validator.ts';
import type { KeyedMutex } from './keyed-mutex.ts';
import type { StageRecorder } from './stage-recorder.ts';
import type { InstallTasks } from './install-tasks.ts';
import type { PlacementHooks } from '../cluster/placement-hooks.ts';

export type TestDataGenerator = (
  specs: Manifest['sandbox']['testData'],
  seed: string,
  limits: { maxBytes: number },
) => Record<string, Array<Record<string, unknown>>> | Promise<Record<string, Array<Record<string, unknown>>>>;

export interface PipelineDeps {
  db: Db;
  store: InstallStore;
  plugins: PluginRepository;
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
  /** The plugin log feed: core writes why a serving version failed / was rolled back there. */
  pluginLogs?: LogSink;
  /** Cluster only: who serves which plugin (leases); absent on a single node, which serves all. */
  placement?: PlacementHooks;
  /** Serializes installs per tenant; in a cluster across nodes (cluster/store-lock.ts). */
  tenantLock?: Pick<KeyedMutex, 'run'>;
}

/** An instance being started for an install, until it is switched in or rolled back. */
export interface StartingInstance {
  /** Known from the start's first phase: rollback stops it. */
  instanceId?: string;
  /** Set once the instance entered its health gate and the stage is being recorded. */
  healthSeen?: Promise<unknown>;
}

/** Which instance serves each (tenant, plugin) on this core. */
export class ServingTable {
  readonly #ids = new Map<string, string>();

  get(tenant: string, pluginId: string): string | undefined {
    return this.#ids.get(key(tenant, pluginId));
  }

  set(tenant: string, pluginId: string, instanceId: string): void {
    this.#ids.set(key(tenant, pluginId), instanceId);
  }

  delete(tenant: string, pluginId: string): void {
    this.#ids.delete(key(tenant, pluginId));
  }

  clear(): void {
    this.#ids.clear();
  }

  /** Every (tenant, plugin) this core serves. */
  list(): Array<{ tenant: string; pluginId: string }> {
    return [...this.#ids.keys()].map((k) => {
      const [tenant, pluginId] = k.split('\0');
      return { tenant, pluginId };
    });
  }
}

function key(tenant: string, pluginId: string): string {
  return `${tenant}\0${pluginId}`;
}

export interface PipelineContext {
  readonly d: PipelineDeps;
  readonly stages: StageRecorder;
  readonly tasks: InstallTasks;
  readonly serving: ServingTable;
  /** Install id → the instance started for it. */
  readonly starting: Map<string, StartingInstance>;
  /** Tenant checks and claims of a plugin run one at a time per tenant. */
  readonly tenantLock: Pick<KeyedMutex, 'run'>;
  /** Set by close(): an install in flight then fails with INSTALL_INTERRUPTED. */
  closing(): boolean;
}

/** An error that knows the stage it happened in. */
export class StageError extends Error {
  readonly stage: string;
  readonly error: PxError;
  constructor(stage: string, error: PxError) {
    super(error.message);
    this.stage = stage;
    this.error = error;
  }
}

/** The stage to report `error` in: its own when it knows it, else the one the caller was in. */
export function stageOf(error: unknown, fallback: string): string {
  return error instanceof StageError ? error.stage : fallback;
}

export function toPxError(error: unknown, log: Logger, fallback?: ErrorCode): PxError {
  if (error instanceof StageError) return error.error;
  if (isPxError(error)) return error;
  if (isDiskFull(error)) return diskFullError(error, 'installing');
  if (fallback) return new PxError(fallback, { detail: (error as Error)?.message ?? String(error) });
  const ref = randomUUID().slice(0, 8);
  log.error({ err: error, ref }, 'unexpected error in install pipeline');
  return new PxError('INTERNAL', { ref });
}

/** The pipeline's view of "when did this install start", for durations measured across calls. */
export function startedAt(createdAt: string): number {
  return performance.now() - (Date.now() - new Date(createdAt).getTime());
}
