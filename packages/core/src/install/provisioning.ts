/**
 * The provisioning stage: the unpacked package becomes the version folder (dev reloads use a
 * content-addressed folder, so the same build again reuses it), the plugin's data folder is made
 * on first install, the package is kept as a blob; then the instance is started (activation.ts).
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PxError } from '@powerx/protocol';
import { StageError, toPxError, type PipelineContext } from './pipeline-context.ts';
import { flowPolicy } from './flow-policy.ts';
import type { ResolvedConfig } from './wizard.ts';
import { activate } from './activation.ts';

export async function provisionAndActivate(
  ctx: PipelineContext,
  input: { id: string; actor: string; resolved: ResolvedConfig; uploadPath?: string; started: number },
): Promise<void> {
  const { d } = ctx;
  const { id } = input;
  let stage = 'provisioning';
  try {
    await ctx.stages.transition(id, 'provisioning');
    const row = (await d.store.get(id))!;
    const pluginId = row.plugin_id!;
    const tenant = row.tenant_id;
    const contentAddressed = flowPolicy(row.flow).contentAddressedVersions && row.package_sha256;
    const versionDir = d.paths.versionDir(
      tenant,
      pluginId,
      contentAddressed ? `c-${row.package_sha256!.slice(0, 32)}` : id,
    );
    await mkdir(dirname(versionDir), { recursive: true });
    if (!row.staging_dir) throw new PxError('INTERNAL', { ref: `no staging folder for install ${id}` });
    const stagingDir = d.paths.resolve(row.staging_dir);
    if (contentAddressed && (await exists(versionDir)))
      await rm(stagingDir, { recursive: true, force: true });
    else await rename(stagingDir, versionDir);
    // Stored relative to the data dir, so a moved or restored data dir finds it (config/core-paths.ts).
    await d.store.update(id, { version_dir: d.paths.toStored(versionDir), staging_dir: null });
    const dataDir = d.paths.pluginDataDir(tenant, pluginId);
    if (!(await exists(dataDir))) {
      await mkdir(dataDir, { recursive: true });
      await d.store.update(id, { created_data_dir: 1 });
    }
    if (input.uploadPath) await d.blobs.put(`${id}.pxp`, input.uploadPath);
    await d.audit.append({
      actor: input.actor,
      tenant,
      action: 'plugin.install.provisioned',
      target: pluginId,
      outcome: 'ok',
      details: {
        installId: id,
        stage: 'provisioning',
        storageNamespace: `${tenant}/${pluginId}`,
        secrets: Object.keys(input.resolved.secrets),
      },
    });
    stage = 'starting';
    await activate(ctx, { id, seed: true, started: input.started });
  } catch (error) {
    throw error instanceof StageError ? error : new StageError(stage, toPxError(error, d.log));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
