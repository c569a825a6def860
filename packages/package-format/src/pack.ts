import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PackageError } from '@powerx/protocol';
import { comparePaths, formatSums } from './checksums.ts';
import { parsePrivateKey } from './keys.ts';
import { resolveLimits, type PackageLimits } from './limits.ts';
import { listPackageDir, type DirFile } from './package-dir.ts';
import { SIG_PATH, SIGNER_PATH, SUMS_PATH, UNLISTED_PATHS } from './package-layout.ts';
import { encodeSigner, signSums } from './signature.ts';
import { BLOCK, encodeHeader, endOfArchive, paddingFor, TYPE } from './tar-format.ts';

export interface PackOptions {
  /** Ed25519 private key (PKCS#8 PEM). Without it the package is unsigned (dev only). */
  privateKeyPem?: string;
  /** Refuse to build what the validator would refuse anyway. Defaults to DEFAULT_LIMITS. */
  limits?: Partial<PackageLimits>;
}

export interface PackResult {
  /** Absolute path of the written package. */
  file: string;
  /** Size of the `.pxp`. */
  bytes: number;
  /** SHA-256 of the `.pxp` bytes. */
  sha256: string;
  /** Files in the archive, the `_pxp/` ones included. */
  fileCount: number;
  keyId?: string;
}

/** gzip level: 6 is zlib's default, the usual speed/size balance; changing it changes the bytes. */
const GZIP_LEVEL = 6;
/** gzip header OS byte: always "Unix", so a package packed on macOS or Windows has the same bytes. */
const GZIP_OS_UNIX = 3;
const IO_BLOCK = 1 << 20;

type ArchiveEntry = { path: string; mode: number; size: number } & (
  { file: DirFile; sha256: string } | { data: Buffer }
);

/**
 * Packs a folder that holds the package content (manifest.json, dist/…, admin/…) into a `.pxp`:
 * entries sorted by path bytes, fixed metadata (mtime 2000-01-01, uid/gid 0, no user names,
 * mode 644 or 755 for executables), `_pxp/SHA256SUMS` over every other file, and when a key is
 * given the signature and signer.json. Same content and key ⇒ same bytes (with the same zlib).
 * Any `_pxp/SHA256SUMS`, `.sig` or `signer.json` already in the folder (an unpacked package) is
 * replaced by freshly computed ones. Written to a temporary file and renamed into place.
 */
export async function packDirectory(
  dir: string,
  outFile: string,
  opts: PackOptions = {},
): Promise<PackResult> {
  const limits = resolveLimits(opts.limits);
  const privateKey = opts.privateKeyPem === undefined ? undefined : parsePrivateKey(opts.privateKeyPem);
  const out = resolve(outFile);
  const files = await listPackageDir(dir, limits, {
    // The output may live inside the folder being packed; never pack it (or its temp file) into itself.
    skip: (rel, abs) => UNLISTED_PATHS.has(rel) || abs === out || abs.startsWith(`${out}.tmp-`),
  });
  if (files.length + 3 > limits.maxEntries)
    throw new PackageError('PXP_TOO_MANY_ENTRIES', { limit: limits.maxEntries });

  const hashed = await mapLimited(files, 4, async (file) => ({ file, sha256: await hashFile(file) }));
  const sums = formatSums(hashed.map(({ file, sha256 }) => ({ path: file.path, sha256 })));
  const entries: ArchiveEntry[] = hashed.map(({ file, sha256 }) => ({
    path: file.path,
    mode: file.executable ? 0o755 : 0o644,
    size: file.size,
    file,
    sha256,
  }));
  entries.push({ path: SUMS_PATH, mode: 0o644, size: sums.length, data: sums });
  let keyId: string | undefined;
  if (privateKey) {
    const { signature, signer } = signSums(sums, privateKey);
    keyId = signer.keyId;
    const signerBytes = encodeSigner(signer);
    entries.push({ path: SIG_PATH, mode: 0o644, size: signature.length, data: signature });
    entries.push({ path: SIGNER_PATH, mode: 0o644, size: signerBytes.length, data: signerBytes });
  }
  entries.sort((a, b) => comparePaths(a.path, b.path));

  const written = await writeArchive(entries, out);
  return {
    file: out,
    bytes: written.bytes,
    sha256: written.sha256,
    fileCount: entries.length,
    ...(keyId ? { keyId } : {}),
  };
}

/** Streams the tar through gzip into `out` atomically; returns the size and hash of the result. */
async function writeArchive(
  entries: ArchiveEntry[],
  out: string,
): Promise<{ bytes: number; sha256: string }> {
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const outHash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (bytes <= 9 && bytes + chunk.length > 9) chunk[9 - bytes] = GZIP_OS_UNIX;
      outHash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      tarStream(entries),
      createGzip({
        level: GZIP_LEVEL,
        chunkSize: IO_BLOCK,
        writableHighWaterMark: 4 * IO_BLOCK,
      } as Parameters<typeof createGzip>[0]),
      tap,
      createWriteStream(tmp, { flush: true }),
    );
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { bytes, sha256: outHash.digest('hex') };
}

/** Files up to this size are read whole, a few ahead of the writer, so reading overlaps compression. */
const SMALL_FILE = 1 << 20;
const READ_AHEAD = 8;

/**
 * The tar byte stream, in 1 MiB blocks: gzip gets few large writes instead of three small ones
 * per file, and small files are read ahead so the disk, the hash and deflate (on the thread
 * pool) work at the same time.
 */
async function* tarStream(entries: ArchiveEntry[]): AsyncGenerator<Buffer> {
  const blocks = new BlockBuilder(IO_BLOCK);
  const pending = new Map<number, Promise<Buffer>>();
  const prefetch = (from: number) => {
    for (let i = from; i < entries.length && pending.size < READ_AHEAD; i++) {
      const e = entries[i];
      if (!('file' in e) || e.size > SMALL_FILE || pending.has(i)) continue;
      const p = readFile(e.file.absPath);
      p.catch(() => undefined); // observed when awaited; never an unhandled rejection
      pending.set(i, p);
    }
  };
  let offset = 0;
  for (let i = 0; i < entries.length; i++) {
    prefetch(i);
    const entry = entries[i];
    yield* blocks.push(
      encodeHeader({ path: entry.path, type: TYPE.file, size: entry.size, mode: entry.mode }),
    );
    if ('data' in entry) {
      yield* blocks.push(entry.data);
    } else if (pending.has(i)) {
      const data = await pending.get(i)!;
      pending.delete(i);
      // Hash again: a file edited between hashing and packing must not produce a package whose
      // SHA256SUMS lies about its content.
      if (data.length !== entry.size || sha256(data) !== entry.sha256)
        throw new PackageError('PXP_SOURCE_CHANGED', { path: entry.path });
      yield* blocks.push(data);
    } else {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(entry.file.absPath, {
        highWaterMark: IO_BLOCK,
      }) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > entry.size) break;
        hash.update(chunk);
        yield* blocks.push(chunk);
      }
      if (size !== entry.size || hash.digest('hex') !== entry.sha256)
        throw new PackageError('PXP_SOURCE_CHANGED', { path: entry.path });
    }
    offset += BLOCK + entry.size;
    const pad = paddingFor(entry.size);
    if (pad) yield* blocks.push(Buffer.alloc(pad));
    offset += pad;
  }
  yield* blocks.push(endOfArchive(offset));
  const rest = blocks.flush();
  if (rest) yield rest;
}

/** Packs many small buffers into fixed-size blocks; big buffers pass through without a copy. */
class BlockBuilder {
  private buf: Buffer;
  private fill = 0;
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
  }
  *push(data: Buffer): Generator<Buffer> {
    if (this.fill === 0 && data.length >= this.size) {
      yield data;
      return;
    }
    let pos = 0;
    while (pos < data.length) {
      const n = Math.min(this.size - this.fill, data.length - pos);
      data.copy(this.buf, this.fill, pos, pos + n);
      this.fill += n;
      pos += n;
      if (this.fill === this.size) {
        yield this.buf;
        this.buf = Buffer.allocUnsafe(this.size);
        this.fill = 0;
      }
    }
  }
  flush(): Buffer | undefined {
    return this.fill ? this.buf.subarray(0, this.fill) : undefined;
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export async function hashFile(file: { absPath: string }): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file.absPath, {
    highWaterMark: IO_BLOCK,
  }) as AsyncIterable<Buffer>)
    hash.update(chunk);
  return hash.digest('hex');
}

/** Like Promise.all over map, with at most `concurrency` calls in flight (10 000 files, few fds). */
export async function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
