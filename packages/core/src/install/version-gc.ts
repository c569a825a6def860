/**
 * Removing version folders (and their package blobs) no install needs any more. What "needed"
 * means is one query (PluginRepository.versionDirsInUse); which folders a switch leaves behind
 * is decided in version-gc-policy.ts.
 */
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PipelineDeps } from './pipeline-context.ts';
import { orphanVersionFolders } from './version-gc-policy.ts';
import { dataDirRelative } from '../config/core-paths.ts';

type Deps = Pick<PipelineDeps, 'store' | 'plugins' | 'blobs' | 'paths' | 'log' | 'db'>;

/** A stored path in the form rows use today (older rows may hold an absolute one). */
function storedForm(stored: string): string {
  return dataDirRelative(stored) ?? stored;
}

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
  await rm(d.paths.resolve(row.version_dir), { recursive: true, force: true });
  if (row.kind === 'install') await d.blobs.remove(`${row.id}.pxp`);
}

/**
 * Version folders and blobs no install refers to any more (a crash between the switch and the
 * clean-up of the displaced version leaves one behind) are removed at start.
 */
export async function sweepOrphanVersions(d: Deps): Promise<void> {
  // Compared in the data-dir relative form: a folder a row names under an older absolute path is kept.
  const inUse = new Set([...(await d.plugins.versionDirsInUse())].map(storedForm));
  const found: string[] = [];
  for (const tenant of await readdir(d.paths.tenants).catch(() => [] as string[])) {
    const pluginsDir = join(d.paths.tenants, tenant, 'plugins');
    for (const plugin of await readdir(pluginsDir).catch(() => [] as string[])) {
      const versions = dirname(d.paths.versionDir(tenant, plugin, 'x'));
      for (const name of await readdir(versions).catch(() => [] as string[]))
        found.push(d.paths.toStored(join(versions, name)));
    }
  }
  for (const dir of orphanVersionFolders(found, inUse).map((rel) => d.paths.resolve(rel))) {
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
    ).map((r) => storedForm(r.staging_dir!)),
  );
  for (const name of await readdir(d.paths.staging).catch(() => [] as string[])) {
    const path = join(d.paths.staging, name);
    if (!keep.has(d.paths.toStored(path))) await rm(path, { recursive: true, force: true });
  }
}
