/**
 * Small files that must be whole or absent (master key, admin token, audit anchor): written to a
 * temporary file next to the target, fsync'ed, then renamed over it (or linked, when an existing
 * file must never be replaced), and the folder fsync'ed so the rename survives a power cut. A full
 * disk or a crash leaves the previous file (or none), never a 0-byte or half-written one.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { mapDiskFull } from './disk-full.ts';

export interface AtomicWriteOptions {
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean;
}

export async function writeFileAtomic(
  file: string,
  content: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  await mapDiskFull(`writing ${basename(file)}`, file, async () => {
    try {
      const handle = await open(tmp, 'wx', opts.mode ?? 0o600);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (opts.exclusive) await link(tmp, file);
      else await rename(tmp, file);
    } finally {
      await rm(tmp, { force: true });
    }
    await syncFolder(dirname(file));
  });
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the rename itself is still atomic there.
  } finally {
    await handle.close();
  }
}
