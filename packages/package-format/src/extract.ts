import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants as fsc, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { PackageError } from '@powerx/protocol';
import { checkEntryPath, printable } from './entry-path.ts';
import { comparePaths } from './checksums.ts';
import { RATIO_GRACE_BYTES, resolveLimits, type PackageLimits } from './limits.ts';
import { TarParser, type EntrySink, type TarEntry } from './tar-parser.ts';
import { TYPE } from './tar-format.ts';

export interface ExtractedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ExtractOptions {
  limits?: Partial<PackageLimits>;
  /** Folder under which the fresh staging folder is created (default: os.tmpdir()). */
  stagingRoot?: string;
}

export interface ExtractedPackage {
  /** The staging folder holding the package content. */
  dir: string;
  /** Every regular file, sorted by path, hashed while it was written. */
  files: ExtractedFile[];
  /** SHA-256 of the `.pxp` bytes, hashed while they were read. */
  packageSha256: string;
  /** Size of the `.pxp`. */
  compressedBytes: number;
  /** Bytes of the uncompressed tar stream. */
  uncompressedBytes: number;
  /** Deletes the staging folder. Safe to call twice. */
  remove(): Promise<void>;
}

/** Read size of the `.pxp` and gunzip output chunk: large blocks keep per-chunk overhead negligible. */
const READ_BLOCK = 1 << 20;
const INFLATE_CHUNK = 256 * 1024;
/** How far gunzip (on the libuv thread pool) may run ahead of hashing and writing (main thread). */
const INFLATE_AHEAD = 8 * 1024 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];
/** The parser is fed at most this much at a time, and the event loop gets a turn every few ms. */
const PARSE_SLICE = 64 * 1024;
const MAX_BLOCKING_MS = 10;
const FILE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0);

/**
 * Safely unpacks a `.pxp` into a fresh staging folder (mkdtemp under `stagingRoot`) in ONE
 * streaming pass: read → gunzip → tar parse → hash + write. Every entry's header is checked
 * before any of its bytes are written (type, path, duplicates, declared size), and every limit is
 * enforced on bytes actually seen, so a lying header or a gzip bomb stops decompression within a
 * few MiB of the limit. Files are created with O_EXCL|O_NOFOLLOW inside the staging folder, which
 * holds nothing but what we created, so no entry can reach outside it. The staging folder is only
 * handed out once the whole archive passed; on any failure it is removed and a PackageError with
 * the first problem's code is thrown.
 */
export async function extractPackage(pkgFile: string, opts: ExtractOptions = {}): Promise<ExtractedPackage> {
  const { captured: _captured, dir, ...scan } = await scanArchive(pkgFile, { ...opts, write: true });
  return { ...scan, dir: dir! };
}

export interface ScanOptions extends ExtractOptions {
  /** false: check and hash only, write nothing (no staging folder at all). */
  write: boolean;
  /** Files whose bytes are kept in memory (each up to its cap; larger ones are not captured). */
  capture?: ReadonlyMap<string, number>;
}

export interface ScannedArchive extends Omit<ExtractedPackage, 'dir'> {
  dir?: string;
  captured: Map<string, Buffer>;
}

/**
 * The single streaming pass behind extractPackage and validatePackage. With `write: false` the
 * same checks run and every file is hashed, but nothing touches the disk: a validation that keeps
 * nothing (px-plugin validate) need not pay for creating thousands of files.
 */
export async function scanArchive(pkgFile: string, opts: ScanOptions): Promise<ScannedArchive> {
  const limits = resolveLimits(opts.limits);
  const st = await stat(pkgFile).catch(() => undefined);
  if (!st?.isFile()) throw new PackageError('PXP_NOT_FOUND', { path: pkgFile });
  if (st.size > limits.maxCompressedBytes)
    throw new PackageError('PXP_TOO_LARGE', { size: st.size, limit: limits.maxCompressedBytes });
  if (st.size === 0) throw new PackageError('PXP_NOT_GZIP', {});

  let dir: string | undefined;
  if (opts.write) {
    const stagingRoot = opts.stagingRoot ?? os.tmpdir();
    await mkdir(stagingRoot, { recursive: true });
    dir = await mkdtemp(join(stagingRoot, 'pxp-'));
  }
  const remove = async () => {
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const writer = new StagingWriter(dir, limits, opts.capture ?? new Map());
  try {
    const pkgHash = createHash('sha256');
    let compressed = 0;
    const tap = new Transform({
      highWaterMark: READ_BLOCK,
      transform(chunk: Buffer, _enc, done) {
        if (
          compressed === 0 &&
          (chunk[0] !== GZIP_MAGIC[0] || (chunk.length > 1 && chunk[1] !== GZIP_MAGIC[1]))
        ) {
          done(new PackageError('PXP_NOT_GZIP', {}));
          return;
        }
        compressed += chunk.length;
        if (compressed > limits.maxCompressedBytes) {
          done(new PackageError('PXP_TOO_LARGE', { size: compressed, limit: limits.maxCompressedBytes }));
          return;
        }
        pkgHash.update(chunk);
        done(null, chunk);
      },
    });
    // The file size at open time is the ratio's denominator: the ratio is about the whole package.
    const ratioBase = st.size;
    let uncompressed = 0;
    let lastYield = performance.now();
    const parser = new TarParser((entry) =>
      writer.onEntry(entry, limits.maxUncompressedBytes - uncompressed),
    );
    const gunzip = createGunzip({
      chunkSize: INFLATE_CHUNK,
      readableHighWaterMark: INFLATE_AHEAD,
    } as Parameters<typeof createGunzip>[0]);
    await pipeline(
      createReadStream(pkgFile, { highWaterMark: READ_BLOCK }),
      tap,
      gunzip,
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          uncompressed += chunk.length;
          if (uncompressed > limits.maxUncompressedBytes)
            throw new PackageError('PXP_UNCOMPRESSED_TOO_LARGE', { limit: limits.maxUncompressedBytes });
          if (uncompressed > RATIO_GRACE_BYTES && uncompressed > limits.maxCompressionRatio * ratioBase) {
            throw new PackageError('PXP_COMPRESSION_RATIO', {
              ratio: `more than ${limits.maxCompressionRatio}`,
              limit: limits.maxCompressionRatio,
            });
          }
          // Files are created with synchronous calls (see StagingWriter); feeding the parser in
          // slices and yielding every few ms keeps a server's event loop responsive even when a
          // chunk holds hundreds of tiny files.
          for (let off = 0; off < chunk.length; off += PARSE_SLICE) {
            parser.push(
              off === 0 && chunk.length <= PARSE_SLICE ? chunk : chunk.subarray(off, off + PARSE_SLICE),
            );
            if (performance.now() - lastYield > MAX_BLOCKING_MS) {
              await new Promise<void>((resolve) => setImmediate(resolve));
              lastYield = performance.now();
            }
          }
        }
      },
    ).catch((err: unknown) => {
      // gunzip stops at the end of the gzip stream; bytes after it make the pipeline abort.
      if (!(err instanceof PackageError) && gunzip.readableEnded) throw trailingData();
      throw asPackageError(err);
    });
    if (gunzip.bytesWritten !== compressed) throw trailingData();
    parser.end();
    if (compressed === 0) throw new PackageError('PXP_NOT_GZIP', {});
    return {
      dir,
      captured: writer.captured,
      files: writer.files.sort((a, b) => comparePaths(a.path, b.path)),
      packageSha256: pkgHash.digest('hex'),
      compressedBytes: compressed,
      uncompressedBytes: uncompressed,
      remove,
    };
  } catch (err) {
    writer.abort();
    await remove();
    throw asPackageError(err);
  }
}

/** Bytes after the gzip stream are not part of the package as tar sees it: refused, not ignored. */
function trailingData(): PackageError {
  return new PackageError('PXP_TRUNCATED', { detail: 'there is data after the end of the gzip stream' });
}

/** zlib and stream errors become package codes; our own PackageErrors pass through. */
function asPackageError(err: unknown): unknown {
  if (err instanceof PackageError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '')) {
    return new PackageError('PXP_TRUNCATED', { detail: 'the gzip stream ends early' }, { cause: err });
  }
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) {
    return new PackageError(
      'PXP_TRUNCATED',
      { detail: `gzip data is corrupt (${e.message})` },
      { cause: err },
    );
  }
  return err;
}

/**
 * Decides, entry by entry, what may be written, and writes it: synchronous fs calls, because a
 * package is many small writes to the page cache, where a thread-pool round trip per call would
 * cost more than the write; the event loop still turns between gunzip chunks.
 */
class StagingWriter {
  readonly files: ExtractedFile[] = [];
  readonly captured = new Map<string, Buffer>();
  /** undefined: check and hash only, write nothing. */
  private readonly root: string | undefined;
  private readonly limits: PackageLimits;
  private readonly capture: ReadonlyMap<string, number>;
  private readonly filePaths = new Set<string>();
  private readonly dirPaths = new Set<string>();
  private readonly explicitDirs = new Set<string>();
  private readonly madeDirs = new Set<string>();
  private entries = 0;
  private openFd: number | undefined;

  constructor(root: string | undefined, limits: PackageLimits, capture: ReadonlyMap<string, number>) {
    this.root = root;
    this.limits = limits;
    this.capture = capture;
  }

  onEntry(entry: TarEntry, budget: number): EntrySink | undefined {
    if (++this.entries > this.limits.maxEntries)
      throw new PackageError('PXP_TOO_MANY_ENTRIES', { limit: this.limits.maxEntries });
    const shown = printable(entry.path);
    switch (entry.type) {
      case TYPE.hardlink:
        throw new PackageError('PXP_HARDLINK_ENTRY', { path: shown });
      case TYPE.symlink:
        throw new PackageError('PXP_SYMLINK_ENTRY', { path: shown });
      case TYPE.charDevice:
        throw new PackageError('PXP_DEVICE_ENTRY', { path: shown, type: 'character device' });
      case TYPE.blockDevice:
        throw new PackageError('PXP_DEVICE_ENTRY', { path: shown, type: 'block device' });
      case TYPE.fifo:
        throw new PackageError('PXP_FIFO_ENTRY', { path: shown });
      case TYPE.file:
      case TYPE.oldFile:
      case TYPE.contiguous:
      case TYPE.directory:
        break;
      default:
        throw new PackageError('PXP_SPECIAL_ENTRY', {
          path: shown,
          type: `entry of tar type ${JSON.stringify(entry.type)}`,
        });
    }
    const checked = checkEntryPath(entry.path, this.limits.maxPathLength);
    if (!checked.ok) throw new PackageError(checked.code, checked.params);
    const path = checked.path;
    // Pre-POSIX tars mark directories as regular entries whose name ends with "/".
    const isDir =
      entry.type === TYPE.directory ||
      (entry.path.endsWith('/') &&
        entry.size === 0 &&
        (entry.type === TYPE.file || entry.type === TYPE.oldFile));
    if (!isDir && entry.path.endsWith('/')) throw new PackageError('PXP_BAD_PATH', { path: shown });
    if (isDir && entry.size !== 0)
      throw new PackageError('PXP_TRUNCATED', { detail: `directory entry "${shown}" declares content` });
    // A header may not promise more than the budget left; the stream is counted anyway.
    if (entry.size > budget)
      throw new PackageError('PXP_UNCOMPRESSED_TOO_LARGE', { limit: this.limits.maxUncompressedBytes });
    if (path === '') {
      if (!isDir) throw new PackageError('PXP_BAD_PATH', { path: shown });
      return undefined;
    }
    this.claim(path, isDir, shown);
    if (isDir) {
      this.mkdir(path);
      return undefined;
    }
    const slash = path.lastIndexOf('/');
    if (slash > 0) this.mkdir(path.slice(0, slash));
    return this.openFile(path, entry);
  }

  /** Records a path; refuses duplicates and paths that would put something under a file. */
  private claim(path: string, isDir: boolean, shown: string): void {
    if (this.filePaths.has(path) || (isDir ? this.explicitDirs.has(path) : this.dirPaths.has(path))) {
      throw new PackageError('PXP_DUPLICATE_ENTRY', { path: shown });
    }
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      const parent = path.slice(0, i);
      if (this.filePaths.has(parent))
        throw new PackageError(
          'PXP_BAD_PATH',
          { path: shown },
          { message: `Entry "${shown}" would be inside the file "${parent}"` },
        );
      this.dirPaths.add(parent);
    }
    if (isDir) {
      this.explicitDirs.add(path);
      this.dirPaths.add(path);
    } else {
      this.filePaths.add(path);
    }
  }

  private mkdir(path: string): void {
    if (this.root === undefined || this.madeDirs.has(path)) return;
    mkdirSync(join(this.root, path), { recursive: true, mode: 0o755 });
    this.madeDirs.add(path);
  }

  private openFile(path: string, entry: TarEntry): EntrySink {
    // Only the executable bit survives (process-kind entries need it); never setuid, never 777.
    const mode = entry.mode & 0o111 ? 0o755 : 0o644;
    const fd = this.root === undefined ? undefined : openSync(join(this.root, path), FILE_FLAGS, mode);
    this.openFd = fd;
    const hash: Hash = createHash('sha256');
    const cap = this.capture.get(path);
    const kept: Buffer[] | undefined = cap !== undefined && entry.size <= cap ? [] : undefined;
    let size = 0;
    return {
      write: (data) => {
        hash.update(data);
        size += data.length;
        kept?.push(Buffer.from(data)); // a copy: gunzip reuses nothing, but the chunk is shared
        if (fd === undefined) return;
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      },
      end: () => {
        if (fd !== undefined) closeSync(fd);
        this.openFd = undefined;
        if (kept) this.captured.set(path, Buffer.concat(kept));
        this.files.push({ path, size, sha256: hash.digest('hex') });
      },
    };
  }

  /** Closes a file left open by a failure mid-entry (the folder is removed next). */
  abort(): void {
    if (this.openFd !== undefined) {
      try {
        closeSync(this.openFd);
      } catch {
        // already closed
      }
      this.openFd = undefined;
    }
  }
}
