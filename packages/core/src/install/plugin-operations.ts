/**
 * Operations on an installed plugin. Reconfigure and "roll back to last stable" are install rows
 * of their own kind that start a new instance from an existing version folder through the same
 * activation path as an install (switched in only when healthy); uninstall stops the plugin and
 * removes what it has.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConflictError, NotFoundError, PxError, type InstallConfig, type Manifest } from '@powerx/protocol';
import type { Principal } from '../identity/principal.ts';
import { withLogContext } from '../logging/log-context.ts';
import type { PluginRow } from '../plugins/plugin-repository.ts';
import type { InstallRow } from './install-store.ts';
import { stageOf, type PipelineContext } from './pipeline-context.ts';
import { resolveConfig } from './wizard.ts';
import { configAuditDetails, openConfig, saveConfig } from './stored-config.ts';
import { activate } from './activation.ts';
import { removeEmptyParents, rollbackInstall } from './install-rollback.ts';
import { announceUninstall } from './install-progress.ts';
import { releaseStaleDataVolumes } from '@powerx/runtime';
import { recordUninstall } from './uninstall-record.ts';

/** Restart with new config next to the current instance; switch only when healthy. */
export async function reconfigure(
  ctx: PipelineContext,
  principal: Principal,
  tenant: string,
  pluginId: string,
  input: InstallConfig,
): Promise<InstallRow> {
  const { d } = ctx;
  const plugin = await requireInstalled(ctx, tenant, pluginId);
  const active = (await d.store.get(plugin.active_install_id))!;
  const manifest = JSON.parse(active.manifest!) as Manifest;
  const resolved = resolveConfig(manifest, input, openConfig(d.secrets, active));
  if (resolved.missing.length)
    throw new PxError('CONFIG_REQUIRED_MISSING', { names: resolved.missing.join(', ') });
  const row = await claim(ctx, tenant, pluginId, () =>
    d.store.create({
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
  await d.store.update(row.id, {
    manifest: active.manifest,
    version_dir: active.version_dir,
    package_sha256: active.package_sha256,
    signer_key_id: active.signer_key_id,
    unsigned: active.unsigned,
  });
  await saveConfig(d, row.id, resolved);
  await d.audit.append({
    actor: principal.username,
    tenant,
    action: 'plugin.reconfigure',
    target: pluginId,
    outcome: 'started',
    details: configAuditDetails(row.id, resolved),
  });
  runActivation(ctx, row.id, principal.username);
  return row;
}

/** Serve the last stable version again. */
export async function rollbackToStable(
  ctx: PipelineContext,
  principal: Principal,
  tenant: string,
  pluginId: string,
): Promise<InstallRow> {
  const { d } = ctx;
  const plugin = await requireInstalled(ctx, tenant, pluginId);
  if (!plugin.last_stable_install_id) throw new ConflictError('NO_STABLE_VERSION', { plugin: pluginId });
  const stable = (await d.store.get(plugin.last_stable_install_id))!;
  const row = await claim(ctx, tenant, pluginId, () =>
    d.store.create({
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
  await d.store.update(row.id, {
    manifest: stable.manifest,
    version_dir: stable.version_dir,
    config: stable.config,
    secrets_enc: stable.secrets_enc,
    package_sha256: stable.package_sha256,
    signer_key_id: stable.signer_key_id,
    unsigned: stable.unsigned,
  });
  await d.audit.append({
    actor: principal.username,
    tenant,
    action: 'plugin.rollback',
    target: pluginId,
    outcome: 'started',
    details: { installId: row.id, from: plugin.active_version, to: stable.version },
  });
  runActivation(ctx, row.id, principal.username);
  return row;
}

export async function uninstall(
  ctx: PipelineContext,
  principal: Principal,
  tenant: string,
  pluginId: string,
  opts: { force?: boolean; keepData?: boolean },
): Promise<void> {
  const { d } = ctx;
  await ctx.tenantLock.run(tenant, async () => {
    const plugin = await requireInstalled(ctx, tenant, pluginId);
    await refuseWhileInFlight(ctx, tenant, pluginId);
    const dependents = (await d.plugins.withActiveManifests(tenant)).filter(
      (p) => p.pluginId !== pluginId && p.manifest?.requires?.[pluginId] !== undefined,
    );
    if (dependents.length && !opts.force) {
      throw new ConflictError(
        'PLUGIN_CONFLICT',
        { detail: `${dependents.map((x) => x.pluginId).join(', ')} require ${pluginId}` },
        { hint: `Uninstall ${dependents.map((x) => x.pluginId).join(', ')} first, or pass force=true.` },
      );
    }
    const instanceId = ctx.serving.get(tenant, pluginId);
    const installs = await d.store.ofPlugin(tenant, pluginId);
    const startedAt = new Date().toISOString();
    await announceUninstall(d, plugin.active_install_id, 'uninstalling', startedAt);
    await d.db.transaction().execute(async (trx) => {
      await d.plugins.remove(trx, tenant, pluginId);
      await trx
        .updateTable('installs')
        .set({ secrets_enc: null, version_dir: null })
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .execute();
      // The history stays, but nothing of it runs any more.
      await trx
        .updateTable('installs')
        .set({ state: 'uninstalled' })
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .where('state', '=', 'running')
        .execute();
      // Finished below; a crash before that is finished at the next start (uninstalled-sweep.ts).
      await trx
        .insertInto('uninstall_cleanups')
        .values({
          tenant_id: tenant,
          plugin_id: pluginId,
          keep_data: opts.keepData ? 1 : 0,
          created_at: new Date().toISOString(),
        })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'plugin_id']).doUpdateSet({ keep_data: opts.keepData ? 1 : 0 }),
        )
        .execute();
      // Kept for good: a node that was down misses the uninstall event and learns here, at its
      // next start, whether its copy of the data folder goes (uninstalled-sweep.ts).
      await recordUninstall(trx, tenant, pluginId, !!opts.keepData);
    });
    // Committed: only now is the plugin stopped, so a failed commit (a full disk) leaves it
    // installed and serving. What follows is clean-up: a crash in it is finished by the start-up
    // sweep, a failure is logged (the uninstall itself happened).
    ctx.serving.delete(tenant, pluginId);
    if (instanceId)
      await d.supervisor.stop(instanceId, { reason: 'uninstalled', graceMs: 2000 }).catch(() => {});
    await cleanUpUninstalled(ctx, {
      principal,
      tenant,
      pluginId,
      version: plugin.active_version,
      installs,
      opts,
    }).catch((error: unknown) =>
      d.log.warn(
        { err: error, tenant, pluginId },
        'uninstalled; clean-up incomplete (finished at next start)',
      ),
    );
    await announceUninstall(d, plugin.active_install_id, 'uninstalled', startedAt);
  });
}

async function cleanUpUninstalled(
  ctx: PipelineContext,
  input: {
    principal: Principal;
    tenant: string;
    pluginId: string;
    version: string;
    installs: Array<{ id: string; kind: string }>;
    opts: { force?: boolean; keepData?: boolean };
  },
): Promise<void> {
  const { d } = ctx;
  const { tenant, pluginId, opts } = input;
  // keepData (dev uninstall without "remove data"): storage and the data folder stay for the next install.
  if (!opts.keepData) await d.storage.dropNamespace(tenant, pluginId);
  for (const i of input.installs) if (i.kind === 'install') await d.blobs.remove(`${i.id}.pxp`);
  // Stopped already; a data volume a killed core left mounted comes off before the folder goes.
  if (!opts.keepData) await releaseStaleDataVolumes(d.paths.pluginRoot(tenant, pluginId));
  await rm(
    opts.keepData ? dirname(d.paths.versionDir(tenant, pluginId, 'x')) : d.paths.pluginRoot(tenant, pluginId),
    { recursive: true, force: true },
  );
  await removeEmptyParents(dirname(d.paths.pluginRoot(tenant, pluginId)), d.paths.tenants);
  // Other nodes stop their copy and drop their local files too — before the pending clean-up row
  // goes, so a crash before they were told is told again by the start-up sweep.
  await d.placement?.uninstalled(tenant, pluginId, !!opts.keepData);
  await d.db
    .deleteFrom('uninstall_cleanups')
    .where('tenant_id', '=', tenant)
    .where('plugin_id', '=', pluginId)
    .execute();
  await d.audit.append({
    actor: input.principal.username,
    tenant,
    action: 'plugin.uninstall',
    target: pluginId,
    outcome: 'ok',
    details: { version: input.version, force: !!opts.force, keepData: !!opts.keepData },
  });
}

async function requireInstalled(ctx: PipelineContext, tenant: string, pluginId: string): Promise<PluginRow> {
  const plugin = await ctx.d.plugins.get(tenant, pluginId);
  if (!plugin) throw new NotFoundError('PLUGIN_NOT_FOUND', { plugin: pluginId, tenant });
  return plugin;
}

async function refuseWhileInFlight(ctx: PipelineContext, tenant: string, pluginId: string): Promise<void> {
  const other = await ctx.d.store.otherInFlight(tenant, pluginId, '');
  if (other)
    throw new ConflictError('INSTALL_IN_PROGRESS', { plugin: pluginId, tenant, installId: other.id });
}

/** Claims the plugin for a new operation, or says which install holds it. */
async function claim(
  ctx: PipelineContext,
  tenant: string,
  pluginId: string,
  create: () => Promise<InstallRow>,
): Promise<InstallRow> {
  return ctx.tenantLock.run(tenant, async () => {
    await refuseWhileInFlight(ctx, tenant, pluginId);
    return create();
  });
}

/** The stages up to starting have nothing to do for an existing version folder: walked through. */
function runActivation(ctx: PipelineContext, id: string, actor: string): void {
  const started = performance.now();
  ctx.tasks.track(
    withLogContext({ installId: id }, async () => {
      try {
        await ctx.stages.announce(id); // received
        await ctx.stages.transition(id, 'validating');
        await ctx.stages.transition(id, 'awaiting_config');
        await ctx.stages.transition(id, 'provisioning');
        await activate(ctx, { id, seed: false, started });
      } catch (error) {
        await rollbackInstall(ctx, { id, stage: stageOf(error, 'starting'), cause: error, actor, started });
      }
    }),
    id,
  );
}
