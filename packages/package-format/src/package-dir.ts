import { lstat, opendir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PackageError } from '@powerx/protocol';
import { checkEntryPath } from './entry-path.ts';
import { comparePaths } from './checksums.ts';
import type { PackageLimits } from './limits.ts';

export interface DirFile {
  /** Canonical package path ("dist/server.js"). */
  path: string;
  absPath: string;
  size: number;
  executable: boolean;
}

/**
 * Lists the regular files of an unpacked package (or of a folder about to be packed), sorted by
 * path bytes, applying the same rules as the archive unpacker: no links, no special files, safe
 * names, and the entry-count, size and path-length limits. Empty folders are not listed: a
 * package carries files only.
 */
export async function listPackageDir(
  folder: string,
  limits: PackageLimits,
  opts: { skip?: (path: string, absPath: string) => boolean } = {},
): Promise<DirFile[]> {
  const dir = resolve(folder); // absPath values are absolute, whatever the caller passed
  // The folder itself may be reached through a symlink (the user named it); its content may not.
  const top = await stat(dir).catch(() => undefined);
  if (!top?.isDirectory()) throw new PackageError('PXP_SOURCE_NOT_FOUND', { dir });
  const files: DirFile[] = [];
  let entries = 0;
  let total = 0;
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    const handle = await opendir(absDir, { bufferSize: 256 });
    for await (const dirent of handle) {
      const rel = relDir ? `${relDir}/${dirent.name}` : dirent.name;
      const abs = join(absDir, dirent.name);
      if (opts.skip?.(rel, abs)) continue;
      const checked = checkEntryPath(rel, limits.maxPathLength);
      if (!checked.ok) throw new PackageError(checked.code, checked.params);
      if (++entries > limits.maxEntries)
        throw new PackageError('PXP_TOO_MANY_ENTRIES', { limit: limits.maxEntries });
      const st = await lstat(abs);
      if (st.isSymbolicLink()) throw new PackageError('PXP_SYMLINK_ENTRY', { path: rel });
      if (st.isDirectory()) {
        await walk(abs, rel);
      } else if (st.isFile()) {
        total += st.size;
        if (total > limits.maxUncompressedBytes)
          throw new PackageError('PXP_UNCOMPRESSED_TOO_LARGE', { limit: limits.maxUncompressedBytes });
        files.push({ path: rel, absPath: abs, size: st.size, executable: (st.mode & 0o111) !== 0 });
      } else {
        throw new PackageError('PXP_SPECIAL_ENTRY', { path: rel, type: describeSpecial(st) });
      }
    }
  };
  await walk(dir, '');
  return files.sort((a, b) => comparePaths(a.path, b.path));
}

function describeSpecial(st: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
}
