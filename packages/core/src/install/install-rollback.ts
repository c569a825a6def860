/**
 * Rollback of a failed install: the install goes rolling_back → failed {code, stage, message,
 * hint}, and everything it created is removed — its instance (or, after a crash, the process the
 * dead core left), seeded documents, staging and version folders, the package blob, a data folder
 * it made, empty parent folders. Quota is derived from rows, so it comes back by itself. The
 * previous version never stopped serving.
 */
import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PxError } from '@powerx/protocol';
import { killLeftoverPlugin, releaseStaleDataVolumes } from '@powerx/runtime';
import { StageError, toPxError, type PipelineContext } from './pipeline-context.ts';
import { flowPolicy } from './flow-policy.ts';
import { versionDirUsedByOthers } from './version-gc.ts';

export async function rollbackInstall(
  ctx: PipelineContext,
  input: { id: string; stage: string; cause: unknown; actor: string; started: number },
): Promise<void> {
  const { d } = ctx;
  const { id, stage } = input;
  let error = input.cause instanceof StageError ? input.cause.error : toPxError(input.cause, d.log);
  if (ctx.closing() && error.code !== 'INSTALL_INTERRUPTED' && error.code !== 'INSTALL_CANCELLED')
    error = new PxError('INSTALL_INTERRUPTED', { stage });
  try {
    await ctx.stages.transition(id, 'rolling_back', { closeOutcome: 'failed', code: error.code });
    await undoInstall(ctx, id);
    const durationMs = Math.round(performance.now() - input.started);
    await d.store.update(id, {
      error_code: error.code,
      error_stage: stage,
      error_message: error.message,
      error_hint: error.hint,
      finished_at: new Date().toISOString(),
      duration_ms: durationMs,
    });
    const row = (await d.store.get(id))!;
    // The rollback's entry is committed with the failed state, not after it: whoever sees the
    // install failed (an API reader, another node) finds the entry too, and a crash in between
    // cannot lose it nor, with recovery rolling back again, write it twice.
    await ctx.stages.transition(id, 'failed', {
      nextOutcome: 'failed',
      code: error.code,
      auditedBy: {
        actor: input.actor,
        tenant: row.tenant_id,
        action: `plugin.${row.kind}.rolled_back`,
        target: row.plugin_id ?? row.id,
        outcome: 'failed',
        details: { installId: id, stage, code: error.code, message: error.message },
      },
    });
    if (row.kind === 'install' && flowPolicy(row.flow).metrics === 'sandbox') {
      d.metrics.installTotal.inc({ result: 'failed' });
      d.metrics.installDuration.observe({ result: 'failed' }, durationMs / 1000);
      d.metrics.rollbackTotal.inc({ stage });
      await d.bus.publish('plugin.install.failed', {
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
    d.log.error({ err: secondary, installId: id }, 'rollback failed');
  } finally {
    ctx.tasks.changed(id);
  }
}

/** Removes everything the install created. Safe to run twice and after a crash. */
async function undoInstall(ctx: PipelineContext, id: string): Promise<void> {
  const { d } = ctx;
  const row = (await d.store.get(id))!;
  const instanceId = ctx.starting.get(id)?.instanceId ?? row.instance_id;
  if (instanceId && d.supervisor.get(instanceId))
    await d.supervisor.stop(instanceId, { reason: 'install rolled back', graceMs: 1000 }).catch(() => {});
  else if (row.instance_pid) killLeftoverPlugin(row.instance_pid, d.paths.run);
  await d.storage.deleteSeededBy(id);
  if (row.staging_dir) await rm(d.paths.resolve(row.staging_dir), { recursive: true, force: true });
  if (row.kind === 'install') {
    // A content-addressed (dev) folder may also be the one of the serving or last stable install.
    if (row.version_dir && !(await versionDirUsedByOthers(d, row.version_dir, id)))
      await rm(d.paths.resolve(row.version_dir), { recursive: true, force: true });
    await d.blobs.remove(`${id}.pxp`);
  }
  if (row.plugin_id) {
    const installed = await d.plugins.get(row.tenant_id, row.plugin_id);
    if (!installed && row.created_data_dir) {
      // A core killed mid-way may have left the plugin's data volume mounted.
      await releaseStaleDataVolumes(d.paths.pluginDataDir(row.tenant_id, row.plugin_id));
      await rm(d.paths.pluginDataDir(row.tenant_id, row.plugin_id), { recursive: true, force: true });
    }
    // Empty folders this install made (versions/, the plugin and tenant folders) go too.
    await removeEmptyParents(dirname(d.paths.versionDir(row.tenant_id, row.plugin_id, id)), d.paths.tenants);
  }
  await d.store.update(id, {
    staging_dir: null,
    version_dir: row.kind === 'install' ? null : row.version_dir,
    secrets_enc: null,
    instance_id: null,
    instance_pid: null,
  });
}

/** Removes `dir` and its parents up to (not including) `stopAt` while they are empty. */
export async function removeEmptyParents(dir: string, stopAt: string): Promise<void> {
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
