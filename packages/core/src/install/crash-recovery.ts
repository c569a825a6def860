/**
 * On start: roll back every install a crash left mid-way (nothing half-installed survives a
 * restart), remove stray uploads, staging and version folders, then start the serving version of
 * every installed plugin (falling back to the last stable one if it does not come up).
 *
 * In a cluster only the installs of this node (a restart under the same PX_NODE_ID) or of nodes
 * that are gone are rolled back — another live node is still running its own — and plugins are
 * started by the placement as this node takes their leases (cluster/placement.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import { PxError, type Manifest } from '@powerx/protocol';
import { StageError, startedAt, toPxError, type PipelineContext } from './pipeline-context.ts';
import { flowPolicy } from './flow-policy.ts';
import { interruptedStage } from './stage-transitions.ts';
import { openConfig } from './stored-config.ts';
import { rollbackInstall } from './install-rollback.ts';
import { dropVersion, sweepOrphanVersions, sweepStaging } from './version-gc.ts';
import { startSpecOf } from './start-spec.ts';
import type { InstallRow } from './install-store.ts';
import type { PluginFailure } from '../plugins/plugin-repository.ts';
import { sweepUninstalledPluginFolders } from './uninstalled-sweep.ts';
import { detachLeftoverMounts } from './leftover-mounts.ts';

/** Plugins started at once at core start. */
const START_CONCURRENCY = 4;

export async function recover(
  ctx: PipelineContext,
): Promise<{ rolledBack: number; started: number; failed: number }> {
  const { d } = ctx;
  await rm(d.paths.uploads, { recursive: true, force: true });
  await mkdir(d.paths.uploads, { recursive: true });
  await detachLeftoverMounts(d.paths.tenants, d.log);
  // Rows in awaiting_config count too unless the pipeline settled them as "waiting" (values
  // missing, blob kept): a crash between entering the stage and markWaiting, or between
  // submitConfig and provisioning, leaves one that nothing would ever finish — it would block
  // every later upload of the plugin (INSTALL_IN_PROGRESS) and keep its quota reserved.
  const unsettled = [];
  for (const row of await d.db
    .selectFrom('installs')
    .selectAll()
    .where('state', '=', 'awaiting_config')
    .execute())
    if (!(await ctx.stages.isWaitingForConfig(row.id))) unsettled.push(row);
  const unfinished: InstallRow[] = [];
  for (const row of [...(await d.store.unfinished()), ...unsettled])
    if (!d.placement || (await d.placement.abandoned(row.node_id))) unfinished.push(row);
  await rollBackInterrupted(ctx, unfinished);
  await sweepStaging(d);
  await sweepOrphanVersions(d);
  await sweepUninstalledPluginFolders(d);
  if (d.placement) return { rolledBack: unfinished.length, started: 0, failed: 0 };
  let started = 0,
    failed = 0;
  await mapLimited(await d.plugins.listAll(), START_CONCURRENCY, async (plugin) => {
    if (await startServingPlugin(ctx, plugin.tenant_id, plugin.plugin_id)) started++;
    else failed++;
  });
  return { rolledBack: unfinished.length, started, failed };
}

/** Cluster: rolls back unfinished installs whose node is gone, so no install stays stuck. */
export async function rollBackAbandoned(ctx: PipelineContext): Promise<number> {
  const placement = ctx.d.placement;
  if (!placement || ctx.closing()) return 0;
  const rows: InstallRow[] = [];
  for (const row of await ctx.d.store.unfinished())
    if (row.node_id !== placement.nodeId && (await placement.abandoned(row.node_id))) rows.push(row);
  await rollBackInterrupted(ctx, rows);
  return rows.length;
}

async function rollBackInterrupted(ctx: PipelineContext, unfinished: InstallRow[]): Promise<void> {
  const { d } = ctx;
  for (const row of unfinished) {
    const stage = interruptedStage(row.state, row.error_stage);
    const error = new PxError('INSTALL_INTERRUPTED', { stage });
    await rollbackInstall(ctx, {
      id: row.id,
      stage,
      cause: new StageError(stage, error),
      actor: 'system',
      started: startedAt(row.created_at),
    });
    // An interrupted dev reload is a failed dev install (the rollback counted uploads only).
    if (row.kind === 'install' && flowPolicy(row.flow).metrics === 'dev')
      d.metrics.recordDevInstall(
        row.tenant_id,
        false,
        Math.max(0, Date.now() - new Date(row.created_at).getTime()) / 1000,
        true,
      );
  }
}

/**
 * Starts the serving version of an installed plugin on this node (at start, or when this node
 * took the plugin over in a cluster), falling back to the last stable one (recorded and
 * audited); false when neither comes up. The plugin is then marked failed with the reason the
 * last start gave, unless `markFailed: false` (a cluster failover: failover-attempts.ts marks it
 * with the attempts it made).
 *
 * `activeOnly` (a cluster handover: the active version still runs on the draining node): no
 * fallback and no failed mark — a start that fails here says nothing about the version.
 */
export async function startServingPlugin(
  ctx: PipelineContext,
  tenant: string,
  pluginId: string,
  opts: { activeOnly?: boolean; markFailed?: boolean } = {},
): Promise<boolean> {
  const { d } = ctx;
  const plugin = await d.plugins.get(tenant, pluginId);
  if (!plugin) return false;
  let failure = await startServing(ctx, tenant, pluginId, plugin.active_install_id);
  if (!failure) return true;
  if (opts.activeOnly) return false;
  if (plugin.last_stable_install_id) {
    const stableFailure = await startServing(ctx, tenant, pluginId, plugin.last_stable_install_id);
    if (!stableFailure) {
      await recordFallback(ctx, tenant, pluginId, plugin.active_version, plugin.last_stable_install_id);
      // The version that did not start is neither active nor stable any more: its folder goes.
      await dropVersion(d, plugin.active_install_id).catch((error: unknown) =>
        d.log.warn({ err: error, installId: plugin.active_install_id }, 'could not drop a version'),
      );
      return true;
    }
    failure = stableFailure;
  }
  if (opts.markFailed !== false) await failPlugin(ctx, tenant, pluginId, { ...failure, stage: 'start' });
  return false;
}

/**
 * No version of the plugin could be started here and nothing will try again (at core start, or a
 * cluster failover out of attempts): the plugin is failed with its reason, and audited
 * (`plugin.failed`), in one transaction — no reader sees it failed without why, nor before the entry.
 */
export async function failPlugin(
  ctx: PipelineContext,
  tenant: string,
  pluginId: string,
  failure: PluginFailure,
  details: Record<string, unknown> = {},
): Promise<void> {
  const { d } = ctx;
  await d.audit.appendWith(
    {
      actor: 'system',
      tenant,
      action: 'plugin.failed',
      target: pluginId,
      outcome: 'failed',
      details: { code: failure.code, stage: failure.stage, message: failure.message, ...details },
    },
    (trx) => d.plugins.markFailed(tenant, pluginId, failure, { touch: true }, trx),
  );
}

/** The last stable version serves instead of the active one: recorded and audited, never silent. */
async function recordFallback(
  ctx: PipelineContext,
  tenant: string,
  pluginId: string,
  failedVersion: string,
  stableInstallId: string,
): Promise<void> {
  const { d } = ctx;
  const stable = (await d.store.get(stableInstallId))!;
  const manifest = JSON.parse(stable.manifest!) as Manifest;
  await d.plugins.recordFallbackToStable(tenant, pluginId, {
    installId: stable.id,
    version: manifest.version,
    resources: manifest.resources,
    packageBytes: stable.package_bytes,
  });
  await d.audit
    .append({
      actor: 'system',
      tenant,
      action: 'plugin.recovery.fallback',
      target: pluginId,
      outcome: 'ok',
      details: {
        from: failedVersion,
        to: manifest.version,
        installId: stable.id,
        reason: 'the active version did not start at core start',
      },
    })
    .catch((error: unknown) => d.log.warn({ err: error, tenant, pluginId }, 'fallback not audited'));
}

/** Starts one version here; undefined when it serves, else why it did not start. */
async function startServing(
  ctx: PipelineContext,
  tenant: string,
  pluginId: string,
  installId: string,
): Promise<StartFailure | undefined> {
  const { d } = ctx;
  const row = await d.store.get(installId);
  if (!row?.manifest || !row.version_dir) return asFailure(new PxError('INSTALL_NOT_FOUND', { installId }));
  const manifest = JSON.parse(row.manifest) as Manifest;
  const config = openConfig(d.secrets, row);
  // A switch on this node (an install, upgrade or rollback through it) may put its own instance
  // in while this one starts: that one is newer and serves, this one must not replace it.
  const before = ctx.serving.get(tenant, pluginId);
  try {
    const info = await d.supervisor.start(await startSpecOf(d, row, manifest, config));
    if (ctx.serving.get(tenant, pluginId) !== before) {
      await d.supervisor
        .stop(info.id, { reason: 'another version was switched in meanwhile', graceMs: 1000 })
        .catch(() => {});
      return undefined;
    }
    ctx.serving.set(tenant, pluginId, info.id);
    // One instance per plugin and node: one this node already served is replaced, not left running.
    if (before)
      await d.supervisor.stop(before, { reason: 'replaced by a new start', graceMs: 2000 }).catch(() => {});
    await d.plugins.markRunning(tenant, pluginId);
    return undefined;
  } catch (error) {
    const failure = asFailure(toPxError(error, d.log));
    d.log.warn(
      { tenant, pluginId, installId, code: failure.code, detail: (error as Error).message },
      'plugin did not start at core start',
    );
    await d.audit.append({
      actor: 'system',
      tenant,
      action: 'plugin.instance.start',
      target: pluginId,
      outcome: 'failed',
      details: { installId, code: failure.code },
    });
    return failure;
  }
}

type StartFailure = Omit<PluginFailure, 'stage'>;

function asFailure(error: PxError): StartFailure {
  return { code: error.code, message: error.message, hint: error.hint };
}

async function mapLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
