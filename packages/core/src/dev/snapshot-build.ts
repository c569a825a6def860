/**
 * Copies a developer's build into a folder of core's own (never run from the developer's
 * folder: they keep editing it). Input: a plugin project (plugin.yaml or manifest.json, plus
 * dist/) or a build output (manifest.json + dist/). Only what a package carries is copied:
 * the normalized manifest.json, dist/, and the top-level folder (or root file) of everything the
 * manifest references: runtime.entry (either kind), sandbox.seed, admin.staticDir.
 * node_modules, src/ and the rest of the project are not read.
 *
 * The developer owns the project folder and may change it while core copies, so every entry is
 * read through a descriptor opened without following links (see tree-reader.ts): swapping a file
 * for a symlink to core's admin token between a check and the copy gets the link refused, never
 * followed. A symlink whose target stays inside the project is copied as the file it points to
 * (packages carry no links); one that points out of the project is refused with DEV_PATH_LINK_OUT.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_LIMITS, readManifestSource } from '@powerx/package-format';
import { PxError, type Manifest } from '@powerx/protocol';
import { isInside } from './dev-roots.ts';
import { ProjectTree, type CopyLimits, type Counter } from './tree-reader.ts';

const MANIFEST_SOURCES = ['plugin.yaml', 'manifest.json'];
/** What packDirectory accepts right after: copying more would only fill core's disk first. */
const SNAPSHOT_LIMITS: CopyLimits = {
  maxEntries: DEFAULT_LIMITS.maxEntries,
  maxBytes: DEFAULT_LIMITS.maxUncompressedBytes,
};
/** A manifest source is a few KiB; nothing bigger is worth parsing. */
const MANIFEST_LIMITS: CopyLimits = { maxEntries: 1, maxBytes: 1024 * 1024 };

export async function snapshotBuild(
  projectDir: string,
  dest: string,
  limits: CopyLimits = SNAPSHOT_LIMITS,
): Promise<{ manifest: Manifest; files: number; bytes: number }> {
  const tree = await ProjectTree.open(projectDir);
  try {
    await mkdir(dest, { recursive: true });
    const manifest = await readManifestSafely(tree, projectDir, dest);
    const entry = await tree.kindOf(manifest.runtime.entry);
    if (entry !== 'file') {
      throw new PxError('DEV_BUILD_NOT_FOUND', {
        path: projectDir,
        detail: `runtime.entry ${manifest.runtime.entry} is missing (not built yet?)`,
      });
    }
    // Everything the manifest references is copied (by its top-level folder, or the file itself
    // when it sits at the project root): the entry of either kind, the seed hook and the admin
    // static folder. An entry outside dist/ passes the check above, so it must be copied too.
    const tops = new Set<string>(['dist']);
    for (const ref of [manifest.runtime.entry, manifest.sandbox?.seed, manifest.admin?.staticDir]) {
      const rel = ref?.replace(/^\.\//, '').replace(/\/+$/, '');
      if (!rel) continue;
      if (!isInside(join(tree.root, rel), tree.root)) throw new PxError('DEV_PATH_LINK_OUT', { path: rel });
      tops.add(rel.split('/')[0]);
    }
    const counter: Counter = { files: 0, bytes: 0 };
    for (const top of [...tops].sort()) await tree.copy(top, join(dest, top), counter, limits);
    await writeFile(join(dest, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifest, files: counter.files, bytes: counter.bytes };
  } finally {
    await tree.close();
  }
}

/**
 * The manifest source is copied (no-follow, like everything else) into `dest` and read there,
 * so a plugin.yaml swapped for a link never makes core parse — and echo in an error — a file
 * from outside the project.
 */
async function readManifestSafely(tree: ProjectTree, projectDir: string, dest: string): Promise<Manifest> {
  const scratch = join(dest, '.manifest-source');
  await mkdir(scratch, { recursive: true });
  try {
    for (const name of MANIFEST_SOURCES) {
      if (await tree.kindOf(name))
        await tree.copy(name, join(scratch, name), { files: 0, bytes: 0 }, MANIFEST_LIMITS);
    }
    return await readManifestSource(scratch);
  } catch (error) {
    if ((error as PxError).code === 'PROJECT_NOT_FOUND') {
      throw new PxError('DEV_BUILD_NOT_FOUND', {
        path: projectDir,
        detail: 'no plugin.yaml or manifest.json',
      });
    }
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
