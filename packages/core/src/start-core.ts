/**
 * Wires core together on the embedded default (SQLite, in-process bus, local disk) and listens.
 * Start-up order matters: checks (port free, database healthy) → database → bootstrap → crash recovery (roll back unfinished installs,
 * start serving plugins) → listen, so /readyz is only ever green on a consistent state.
 */
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createCoreLogger } from './logging/core-logger.ts';
import {
  Supervisor,
  createEntryProxy,
  IsolatedTestDataGenerator,
  type InstanceInfo,
  type LogRate,
  type SupervisorEvent,
} from '@powerx/runtime';
import { openStore } from './storage/open-store.ts';
import { openClusterServices } from './cluster/cluster-services.ts';
import { assertDatabaseHealthy } from './storage/database-check.ts';
import { mapDiskFull } from './storage/disk-full.ts';
import { assertPortFree, portInUse } from './http/port-check.ts';
import { LocalDiskBlobStore } from './storage/blob-store.ts';
import { CorePaths } from './config/core-paths.ts';
import { readCoreConfig, type CoreConfigOptions } from './config/core-config.ts';
import { loadPlatformKeys } from './config/platform-keys.ts';
import { loadAuditKey } from './config/audit-key.ts';
import { AuditLog } from './audit/audit-log.ts';
import { RetentionSweeper } from './audit/retention-sweeper.ts';
import { InProcessEventBus } from './events/in-process-event-bus.ts';
import type { EventBus } from './events/event-bus.ts';
import { CoreMetrics } from './metrics/core-metrics.ts';
import { SecretBox } from './secrets/secret-box.ts';
import { SandboxLimits } from './limits/sandbox-limits.ts';
import { DevPolicyStore } from './config/dev-policy.ts';
import { FeatureFlags } from './config/feature-flags.ts';
import { gateRuntime } from './config/runtime-gate.ts';
import { IdentityService } from './identity/identity-service.ts';
import { TenantService } from './tenants/tenant-service.ts';
import { bootstrap } from './identity/bootstrap.ts';
import { PluginStorage } from './plugins/plugin-storage.ts';
import { StorageMeter } from './plugins/storage-meter.ts';
import { PluginLogStore } from './plugins/plugin-log-store.ts';
import { createHostServices } from './plugins/host-services.ts';
import { InstallStore } from './install/install-store.ts';
import { InstallPipeline } from './install/install-pipeline.ts';
import { sharedPackageValidator } from './install/package-validator.ts';
import { buildServer } from './http/server.ts';
import { CORE_VERSION } from './version.ts';
import type { CoreServices, CoreServicesWithoutDev } from './core-services.ts';
import { PluginRepository } from './plugins/plugin-repository.ts';
import { DevService } from './dev/dev-service.ts';
import { entryUrl as entryUrlOf } from './http/entry-url.ts';
import type { Db } from './storage/schema.ts';

/**
 * Options of startCore. Each setting of CoreConfigOptions wins over its PX_* variable
 * (config/README.md lists them with their defaults; the cluster's are in cluster-env.ts).
 */
export interface StartCoreOptions extends CoreConfigOptions {
  /** Platform signing keys (public PEMs), trusted for every tenant, besides the keys folder. */
  platformKeys?: string[];
  /** Supervisor tuning passed through (tests shorten the crash budget). */
  supervisor?: {
    restartBudget?: { crashes: number; windowMs: number };
    restartBackoffMs?: number;
    quotaSampleMs?: number;
    logRate?: LogRate;
  };
}

export interface RunningCore {
  /** Base URL, e.g. http://127.0.0.1:8077 */
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  /** Set only on the first start (also written to <dataDir>/admin-password, mode 0600). */
  adminPassword?: string;
  coreVersion: string;
  /** Dev mode at start (the policy may change it later: see policy). */
  devMode: boolean;
  /** Where the audit key came from (PX_AUDIT_KEY or a file path), and whether this start made it. */
  auditKey: { source: string; generated: boolean };
  /** The debugging permission policy in force; reloadPolicy() re-reads its file (SIGHUP in main.ts). */
  policy: DevPolicyStore;
  reloadPolicy(): Promise<void>;
  flags: FeatureFlags;
  /** The test entry point of a plugin: <url>/_p/<tenant>/<plugin>/ */
  entryUrl(tenant: string, pluginId: string): string;
  bus: EventBus;
  /** PX_NODE_ID (meaningful in a cluster). */
  nodeId: string;
  /** Rolled back / started by crash recovery at this start. */
  recovery: { rolledBack: number; started: number; failed: number };
  /** Runs the retention sweeper now (it also runs hourly). */
  sweepRetention(now?: Date): Promise<{ logLinesDeleted: number; auditDetailsCleared: number }>;
  /** Cancels installs waiting for configuration past their time (also runs hourly); returns how many. */
  expireWaitingInstalls(now?: Date): Promise<number>;
  close(): Promise<void>;
}

export async function startCore(options: StartCoreOptions = {}): Promise<RunningCore> {
  // Config first: a bad PX_* value or limits file must stop core before it touches anything.
  const config = readCoreConfig(options);
  const { dataDir, port, host, cluster } = config;
  const limits = await SandboxLimits.load(config.limitsFile);
  const policy = await DevPolicyStore.load(config.devPolicy.file, dataDir, config.devPolicy.overrides);
  const flags = new FeatureFlags(config.featureFlags);
  const platformKeys = await loadPlatformKeys(options.platformKeys ?? [], config.platformKeysDir);
  // JSON lines; secrets redacted; request/install ids on every line.
  const { logger, lineCounts } = createCoreLogger({ level: config.logLevel });
  const paths = new CorePaths(dataDir);
  // Checks before touching anything: a busy port or a damaged database must not let crash
  // recovery run (it would roll back installs and start plugins another core may own).
  await assertPortFree(host, port);
  assertDatabaseHealthy(paths.database);
  const noSecretsYet = !existsSync(paths.database) || statSync(paths.database).size === 0;
  await mapDiskFull('preparing the data folder', dataDir, async () => {
    for (const dir of [dataDir, paths.uploads, paths.staging, paths.tenants, paths.run, paths.blobs])
      await mkdir(dir, { recursive: true, mode: 0o700 });
    // Owner-only even when the folder existed before (tokens, keys and the store live in it).
    await chmod(dataDir, 0o700);
  });
  const secrets = await SecretBox.load(paths.masterKey, config.masterKey, { noSecretsYet });
  const auditKey = await loadAuditKey(config.auditKey, dataDir);
  if (auditKey.generated)
    logger.warn(
      { file: auditKey.source },
      'generated an audit key beside the data folder; in production give PX_AUDIT_KEY_FILE on storage the data folder is not on',
    );

  // PX_DATABASE_URL: PostgreSQL (several nodes share it); else the SQLite file in the data dir.
  const db: Db = await openStore({
    databaseUrl: cluster.databaseUrl,
    databaseSchema: cluster.databaseSchema,
    sqliteFile: paths.database,
  });
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => db.destroy()];
  try {
    // The closures below run only after start-up, when `supervisor` and `pipeline` exist.
    const metrics = new CoreMetrics(
      () => ({ list: () => supervisor.list().filter((i: InstanceInfo) => i.state === 'ready') }),
      config.processMetrics,
    );
    let publicUrl = '';
    // PX_NATS_URL: the shared bus, log stream, blob bucket and placement replace the embedded ones.
    const clustered = await openClusterServices({
      env: cluster,
      db,
      paths,
      log: logger,
      metrics,
      // The log stream's max_age: the plugin log retention of the dev policy at start.
      retentionDays: policy.current.retention.logDays,
      url: () => publicUrl,
      tuning: cluster.tuning,
      auditKey: auditKey.key,
    });
    if (clustered) cleanups.unshift(() => clustered.nats.close());
    // The head of the audit chain is anchored outside the store (audit-anchor.ts): next to the
    // SQLite file, or in NATS for the nodes sharing one PostgreSQL chain.
    const audit = new AuditLog(db, {
      key: auditKey.key,
      ...(clustered ? { anchor: clustered.auditAnchor } : { anchorFile: join(dataDir, 'audit-head.json') }),
      onAnchorError: (error) =>
        logger.warn({ err: error }, 'audit head anchor not written (kept one behind)'),
      adoptUnkeyed: auditKey.generated,
    });
    const bus: EventBus =
      clustered?.bus ??
      new InProcessEventBus((error, event) =>
        logger.warn({ err: error, type: event.type }, 'event handler failed'),
      );
    const identity = new IdentityService(db);
    const tenants = new TenantService(db, () =>
      flags.require('plugin-sandbox-mode', 'sandbox tenants and their installs'),
    );
    const storage = new PluginStorage(db, new StorageMeter(limits));
    const logs =
      clustered?.logs ?? new PluginLogStore(db, { warn: (details, msg) => logger.warn(details, msg) });
    const blobs = clustered?.blobs ?? new LocalDiskBlobStore(paths.blobs);
    const store = new InstallStore(db, clustered ? { nodeId: cluster.nodeId } : {});
    const plugins = new PluginRepository(db);
    // A package's testData schemas run in a worker thread, never in core's heap (test-data-generator.ts).
    const testData = new IsolatedTestDataGenerator();
    cleanups.unshift(() => testData.close());
    metrics.attachOps({ db, limits, coreLogLines: lineCounts, pluginLogs: logs });

    const runtime = new Supervisor({
      runDir: paths.run,
      logSink: logs,
      host: createHostServices(storage, bus, limits),
      onEvent: (event: SupervisorEvent) => pipeline.onSupervisorEvent(event),
      sandbox: config.sandbox,
      ...(options.supervisor ?? {}),
    });
    // A killed predecessor's plugin cgroups, empty once its plugins exited: before any plugin starts.
    const leftoverCgroups = await runtime.releaseLeftoverCgroups();
    if (leftoverCgroups.length)
      logger.info({ cgroups: leftoverCgroups.length }, 'removed plugin cgroups a previous run left behind');
    const supervisor = gateRuntime(runtime, flags);
    cleanups.unshift(() => supervisor.stopAll({ graceMs: 1000 }));

    const entryUrl = (tenant: string, pluginId: string) => entryUrlOf(publicUrl, tenant, pluginId);
    const pipeline = new InstallPipeline({
      db,
      store,
      plugins,
      tenants,
      identity,
      audit,
      bus,
      metrics,
      secrets,
      limits,
      supervisor,
      storage,
      blobs,
      paths,
      coreVersion: CORE_VERSION,
      get devMode() {
        return policy.current.devMode;
      },
      platformKeys,
      log: logger,
      validator: sharedPackageValidator,
      generateTestData: (specs, seed, limits) => testData.generate(specs, seed, limits),
      pluginLogs: logs,
      ...(clustered ? { placement: clustered.placement, tenantLock: clustered.tenantLock } : {}),
    });

    // Nodes starting together on one store: one bootstraps, the others find its admin and tenants.
    const runBootstrap = () => bootstrap(db, identity, tenants, audit, paths, config.adminPassword);
    const boot = clustered
      ? await clustered.bootstrapLock.run('bootstrap', runBootstrap)
      : await runBootstrap();
    const recovery = await pipeline.recover();
    if (recovery.rolledBack)
      logger.warn(
        { rolledBack: recovery.rolledBack },
        'rolled back installs left unfinished by a previous run',
      );

    let ready = false;
    const base: CoreServicesWithoutDev = {
      config,
      db,
      log: logger,
      paths,
      audit,
      bus,
      metrics,
      limits,
      identity,
      tenants,
      pipeline,
      plugins,
      logs,
      validator: sharedPackageValidator,
      supervisor,
      coreVersion: CORE_VERSION,
      get devMode() {
        return policy.current.devMode;
      },
      policy,
      flags,
      platformKeys,
      publicUrl: () => publicUrl,
      entryUrl,
      ready: () => ready,
    };
    // In a cluster dev sessions are shared in NATS, so any node serves a session of any other.
    const dev = new DevService(base, clustered ? { sessionStore: clustered.devSessions } : {});
    // Object.assign, not a spread: a spread would freeze the devMode getter at today's policy.
    const services: CoreServices = Object.assign(base, { dev });
    // Sessions load (and an older core's reload history file is imported) before the server
    // answers; dev.close() runs at close().
    await dev.start();
    cleanups.unshift(() => dev.close());
    const localEntry = createEntryProxy((tenant, pluginId) => pipeline.servingInstance(tenant, pluginId));
    // In a cluster the entry point of a plugin served by another node is forwarded there.
    const entryProxy = clustered ? clustered.entryRouter(localEntry, pipeline) : localEntry;
    const app = await buildServer(services, logger, entryProxy);
    await app.listen({ port, host }).catch((error: NodeJS.ErrnoException) => {
      // Taken between the start-up check and now.
      throw error.code === 'EADDRINUSE' ? portInUse(host, port, error) : error;
    });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    publicUrl = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    // Heartbeat, leases and the first reconcile: this node takes the plugins that have no home.
    if (clustered) {
      await clustered.placement.start(pipeline);
      cleanups.unshift(() => clustered.placement.stop());
    }
    ready = true;

    const sweeper = new RetentionSweeper(db, audit, () => policy.current.retention);
    sweeper.start(3_600_000, (error) => logger.warn({ err: error }, 'retention sweep failed'));
    // Also once now: a core that is restarted more often than hourly still forgets on time.
    void sweeper.sweep().catch((error: unknown) => logger.warn({ err: error }, 'retention sweep failed'));
    const waitTtlMs = config.awaitingConfigTtlHours * 3_600_000;
    const expireWaiting = (now?: Date) => pipeline.expireWaiting(waitTtlMs, now);
    const expiryTimer = setInterval(
      () =>
        void expireWaiting().catch((error: unknown) =>
          logger.warn({ err: error }, 'expiring waiting installs failed'),
        ),
      3_600_000,
    );
    expiryTimer.unref();

    let closed: Promise<void> | undefined;
    return {
      url: publicUrl,
      port: actualPort,
      dataDir,
      adminToken: boot.adminToken,
      ...(boot.adminPassword ? { adminPassword: boot.adminPassword } : {}),
      coreVersion: CORE_VERSION,
      auditKey: { source: auditKey.source, generated: auditKey.generated },
      devMode: policy.current.devMode,
      policy,
      async reloadPolicy() {
        const before = policy.current;
        try {
          const after = await policy.reload();
          logger.warn({ file: policy.file, devMode: after.devMode }, 'dev policy re-read');
          await audit.append({
            actor: 'system',
            action: 'dev.policy.reload',
            target: policy.file,
            outcome: 'ok',
            details: { devModeBefore: before.devMode, devMode: after.devMode },
          });
        } catch (error) {
          logger.error(
            { err: error, file: policy.file },
            'dev policy re-read failed; the previous policy stays',
          );
          throw error;
        }
      },
      flags,
      entryUrl,
      nodeId: cluster.nodeId,
      bus,
      recovery,
      sweepRetention: (now?: Date) => sweeper.sweep(now),
      expireWaitingInstalls: expireWaiting,
      close() {
        closed ??= (async () => {
          ready = false;
          // Cluster: hand every plugin over to other nodes first, still answering what reaches us.
          await clustered?.placement.drain();
          sweeper.stop();
          clearInterval(expiryTimer);
          await app.close();
          await dev.close();
          entryProxy.close();
          await pipeline.close();
          await testData.close();
          await clustered?.placement.stop();
          await logs.flush();
          await audit.flush();
          await bus.close();
          clustered?.logs.close();
          await clustered?.nats.close();
          await db.destroy();
        })();
        return closed;
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => {});
    throw error;
  }
}
