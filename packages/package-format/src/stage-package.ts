/**
 * Staging of the package validator: a `.pxp` is unpacked (or only scanned, when nothing is kept);
 * a folder is listed and hashed (and copied when it will be kept). Either way the validator gets
 * the same view: every file's hash and size, and the small files it reads whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { PackageError } from '@powerx/protocol';
import { scanArchive } from './extract.ts';
import type { PackageLimits } from './limits.ts';
import { listPackageDir } from './package-dir.ts';
import { MANIFEST_PATH, SIG_PATH, SIGNER_PATH, SUMS_PATH } from './package-layout.ts';
import { mapLimited } from './pack.ts';

/** Where and whether a package is staged. */
export interface StageOptions {
  stagingRoot?: string;
  keepStaging?: boolean;
}

/** Small files are read whole; a hostile package must not make us read a 1 GiB "manifest". */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_SUMS_BYTES = 16 * 1024 * 1024;
export const MAX_SIGNER_BYTES = 4096;
const IO_BLOCK = 1 << 20;

export interface Staged {
  hashes: Map<string, string>;
  sizes: Map<string, number>;
  packageSha256?: string;
  /** Removes what we created (nothing for an input folder validated in place). */
  remove(): Promise<void>;
  /** The staging folder a caller may keep, when there is one. */
  stagingDir?: string;
  /** A small file's bytes; null when it is larger than `max` (then never read). */
  read(path: string, max: number): Promise<Buffer | null>;
}

/** Files the validator reads whole, with the most it will read of each. */
const SMALL_FILES: ReadonlyMap<string, number> = new Map([
  [MANIFEST_PATH, MAX_MANIFEST_BYTES],
  [SUMS_PATH, MAX_SUMS_BYTES],
  [SIG_PATH, 64],
  [SIGNER_PATH, MAX_SIGNER_BYTES],
]);

export async function stage(input: string, limits: PackageLimits, opts: StageOptions): Promise<Staged> {
  const st = await stat(input).catch(() => undefined);
  if (!st) throw new PackageError('PXP_NOT_FOUND', { path: input });
  if (st.isDirectory()) return stageFolder(input, limits, opts);
  // Without keepStaging nothing needs to be on disk afterwards, so nothing is written: the same
  // checks and hashes, minus creating (and deleting) every file.
  const write = opts.keepStaging === true;
  const scan = await scanArchive(input, {
    limits,
    stagingRoot: opts.stagingRoot,
    write,
    capture: write ? undefined : SMALL_FILES,
  });
  const sizes = new Map(scan.files.map((f) => [f.path, f.size]));
  return {
    hashes: new Map(scan.files.map((f) => [f.path, f.sha256])),
    sizes,
    packageSha256: scan.packageSha256,
    remove: scan.remove,
    stagingDir: scan.dir,
    read: async (path, max) => {
      const size = sizes.get(path) ?? 0;
      if (size > max) return null;
      return scan.dir ? readSmall(join(scan.dir, path), size) : (scan.captured.get(path) ?? Buffer.alloc(0));
    },
  };
}

/**
 * An unpacked package folder gets the same rules as an archive. When the caller keeps the
 * result, files are copied into a fresh staging folder in the same pass that hashes them, so what
 * was validated is exactly what is kept, whatever happens to the folder afterwards.
 */
async function stageFolder(dir: string, limits: PackageLimits, opts: StageOptions): Promise<Staged> {
  const files = await listPackageDir(dir, limits);
  let stagingDir: string | undefined;
  if (opts.keepStaging) {
    const root = opts.stagingRoot ?? os.tmpdir();
    await mkdir(root, { recursive: true });
    stagingDir = await mkdtemp(join(root, 'pxp-'));
  }
  const remove = async () => {
    if (stagingDir) await rm(stagingDir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const hashes = await mapLimited(files, 4, async (file) => {
      const hash = createHash('sha256');
      const tap = new Transform({
        highWaterMark: IO_BLOCK,
        transform(chunk: Buffer, _e, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      const source = createReadStream(file.absPath, { highWaterMark: IO_BLOCK });
      if (stagingDir) {
        const target = join(stagingDir, file.path);
        await mkdir(dirname(target), { recursive: true });
        await pipeline(
          source,
          tap,
          createWriteStream(target, { flags: 'wx', mode: file.executable ? 0o755 : 0o644 }),
        );
      } else {
        for await (const chunk of source as AsyncIterable<Buffer>) hash.update(chunk);
      }
      return hash.digest('hex');
    });
    const sizes = new Map(files.map((f) => [f.path, f.size]));
    const root = stagingDir ?? dir;
    return {
      hashes: new Map(files.map((f, i) => [f.path, hashes[i]])),
      sizes,
      remove,
      stagingDir,
      read: async (path, max) => {
        const size = sizes.get(path) ?? 0;
        return size > max ? null : readSmall(join(root, path), size);
      },
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Reads a small file whole (its size known from the listing; a file that shrank reads short). */
async function readSmall(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await handle.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await handle.close();
  }
}
