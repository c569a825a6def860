/**
 * Version folders are node-local copies of a package's content; the package blob (local disk,
 * or the NATS object store in a cluster) is what every node shares. The store records the folder
 * relative to the data dir (`tenants/<t>/plugins/<p>/versions/<name>`), so every node keeps its
 * copy at the same place under its own data dir and rebuilds it from the blob when it is missing
 * — a node taking a plugin over, or a rollback run through another node.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { extractPackage } from '@powerx/package-format';
import { PxError } from '@powerx/protocol';
import type { Db } from '../storage/schema.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { CorePaths } from '../config/core-paths.ts';

export interface VersionFolderDeps {
  db: Db;
  blobs: BlobStore;
  paths: CorePaths;
}

/** This node's copy of the install's version folder, unpacked from the shared blob if missing. */
export async function materializeVersionDir(
  deps: VersionFolderDeps,
  row: { id: string; version_dir: string | null },
): Promise<string> {
  if (!row.version_dir) throw new PxError('INTERNAL', { ref: `install ${row.id} has no version folder` });
  const local = deps.paths.resolve(row.version_dir);
  if (await exists(local)) return local;
  // The installs that brought this folder's package (one for uploads, several for a dev build reused).
  const sources = await deps.db
    .selectFrom('installs')
    .select(['id', 'package_sha256'])
    .where('version_dir', '=', row.version_dir)
    .where('kind', '=', 'install')
    .orderBy('created_at', 'desc')
    .execute();
  for (const source of sources) {
    const blob = await deps.blobs.fetch(`${source.id}.pxp`);
    if (!blob) continue;
    await mkdir(deps.paths.staging, { recursive: true });
    const staged = await extractPackage(blob, { stagingRoot: deps.paths.staging });
    try {
      // The blob must be the very package that was validated for this install.
      if (source.package_sha256 && staged.packageSha256 !== source.package_sha256)
        throw new PxError('INTERNAL', { ref: `blob of install ${source.id} does not match its checksum` });
      await mkdir(dirname(local), { recursive: true });
      await rename(staged.dir, local).catch(async (error: NodeJS.ErrnoException) => {
        // Another task of this node unpacked it meanwhile.
        if (!(await exists(local))) throw error;
      });
    } finally {
      await staged.remove();
    }
    return local;
  }
  throw new PxError('INTERNAL', {
    ref: `no package blob left for version folder ${basename(row.version_dir)}`,
  });
}

async function exists(path: string): Promise<boolean> {
  return !!(await stat(path).catch(() => undefined));
}
