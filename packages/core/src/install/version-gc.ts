/**
 * Removing version folders (and their package blobs) no install needs any more. What "needed"
 * means is one query (PluginRepository.versionDirsInUse); which folders a switch leaves behind
 * is decided in version-gc-policy.ts.
 */
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PipelineDeps } from './pipeline-context.ts';
import { orphanVersionFolders } from './version-gc-policy.ts';
import { localVersionDir } from '../cluster/version-folders.ts';

type Deps = Pick<PipelineDeps, 'store' | 'plugins' | 'blobs' | 'paths' | 'log' | 'db'>;

/** Whether an install other than `installId` still needs `versionDir` (dev folders are shared). */
export async function versionDirUsedByOthers(
  d: Deps,
  versionDir: string,
  installId: string,
): Promise<boolean> {
  return (await d.plugins.versionDirsInUse({ dir: versionDir, exceptInstallId: installId })).size > 0;
}

/** Removes the version folder and blob of an install no plugin refers to any more. */
export async function dropVersion(d: Deps, installId: string): Promise<void> {
  const row = await d.store.get(installId);
  if (!row?.version_dir) return;
  if ((await d.plugins.versionDirsInUse({ dir: row.version_dir })).size) return;
  await rm(localVersionDir(d.paths, row.version_dir), { recursive: true, force: true });
  if (row.kind === 'install') await d.blobs.remove(`${row.id}.pxp`);
}

/**
 * Version folders and blobs no install refers to any more (a crash between the switch and the
 * clean-up of the displaced version leaves one behind) are removed at start.
 */
export async function sweepOrphanVersions(d: Deps): Promise<void> {
  // Recorded paths may be another node's (cluster): compare with where they are on this node.
  const inUse = new Set(
    [...(await d.plugins.versionDirsInUse())].map((dir) => localVersionDir(d.paths, dir)),
  );
  const found: string[] = [];
  for (const tenant of await readdir(d.paths.tenants).catch(() => [] as string[])) {
    const pluginsDir = join(d.paths.tenants, tenant, 'plugins');
    for (const plugin of await readdir(pluginsDir).catch(() => [] as string[])) {
      const versions = dirname(d.paths.versionDir(tenant, plugin, 'x'));
      for (const name of await readdir(versions).catch(() => [] as string[]))
        found.push(join(versions, name));
    }
  }
  for (const dir of orphanVersionFolders(found, inUse)) {
    d.log.warn({ dir }, 'removing a version folder no install refers to');
    await rm(dir, { recursive: true, force: true });
    // Upload installs name their folder after the install id, which also names the blob.
    await d.blobs.remove(`${dir.slice(dir.lastIndexOf('/') + 1)}.pxp`);
  }
}

/** Staging folders no install refers to (an upload a crash cut short) are removed at start. */
export async function sweepStaging(d: Deps): Promise<void> {
  const keep = new Set(
    (
      await d.db.selectFrom('installs').select('staging_dir').where('staging_dir', 'is not', null).execute()
    ).map((r) => r.staging_dir),
  );
  for (const name of await readdir(d.paths.staging).catch(() => [] as string[])) {
    const path = `${d.paths.staging}/${name}`;
    if (!keep.has(path)) await rm(path, { recursive: true, force: true });
  }
}
