/**
 * Copies a developer's build into a folder of core's own (never run from the developer's
 * folder: they keep editing it). Input: a plugin project (plugin.yaml or manifest.json, plus
 * dist/) or a build output (manifest.json + dist/). Only what a package carries is copied:
 * the normalized manifest.json, dist/, and the top-level folder (or root file) of everything the
 * manifest references: runtime.entry (either kind), sandbox.seed, admin.staticDir.
 * node_modules, src/ and the rest of the project are not read.
 *
 * Links: a symlink whose target stays inside the project is copied as the file it points to
 * (packages carry no links); one that points out of the project is refused with
 * DEV_PATH_LINK_OUT, so a project cannot smuggle /etc/… or another user's files into core.
 */
import { copyFile, lstat, mkdir, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { readManifestSource } from '@powerx/package-format';
import { PxError, type Manifest } from '@powerx/protocol';
import { isInside } from './dev-roots.ts';

const MAX_FILES = 10_000;

export async function snapshotBuild(
  projectDir: string,
  dest: string,
): Promise<{ manifest: Manifest; files: number; bytes: number }> {
  const root = await realpath(projectDir);
  for (const name of ['plugin.yaml', 'manifest.json']) await refuseLinkOut(root, join(root, name));
  let manifest: Manifest;
  try {
    manifest = await readManifestSource(root);
  } catch (error) {
    if ((error as PxError).code === 'PROJECT_NOT_FOUND') {
      throw new PxError('DEV_BUILD_NOT_FOUND', {
        path: projectDir,
        detail: 'no plugin.yaml or manifest.json',
      });
    }
    throw error;
  }
  const entry = join(root, manifest.runtime.entry);
  if (!(await stat(entry).catch(() => undefined))?.isFile()) {
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
    if (!isInside(join(root, rel), root)) throw new PxError('DEV_PATH_LINK_OUT', { path: rel });
    tops.add(rel.split('/')[0]);
  }
  const counter = { files: 0, bytes: 0 };
  await mkdir(dest, { recursive: true });
  for (const top of tops) {
    const src = join(root, top);
    if (!(await lstat(src).catch(() => undefined))) continue;
    await copyInside(root, src, join(dest, top), counter);
  }
  await writeFile(join(dest, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, ...counter };
}

async function refuseLinkOut(root: string, path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isSymbolicLink()) return st ? path : undefined;
  const target = await realpath(path).catch(() => undefined);
  // Where the link leads is not said (nor whether it leads anywhere): that would tell the
  // caller what exists outside the project.
  if (!target || !isInside(target, root))
    throw new PxError('DEV_PATH_LINK_OUT', { path: relative(root, path) });
  return target;
}

async function copyInside(
  root: string,
  src: string,
  dest: string,
  counter: { files: number; bytes: number },
  depth = 0,
): Promise<void> {
  if (depth > 32) throw new PxError('DEV_PATH_LINK_OUT', { path: relative(root, src) });
  const real = (await refuseLinkOut(root, src)) ?? src;
  const st = await stat(real);
  if (st.isDirectory()) {
    await mkdir(dest, { recursive: true });
    for (const name of (await readdir(real)).sort())
      await copyInside(root, join(src, name), join(dest, name), counter, depth + 1);
    return;
  }
  if (!st.isFile())
    throw new PxError('PXP_SPECIAL_ENTRY', { path: relative(root, src), type: 'special file' });
  if (++counter.files > MAX_FILES) throw new PxError('PXP_TOO_MANY_ENTRIES', { limit: MAX_FILES });
  counter.bytes += st.size;
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(real, dest);
}
