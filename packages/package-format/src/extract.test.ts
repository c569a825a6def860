import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { PackageError } from '@powerx/protocol';
import { DEFAULT_LIMITS, extractPackage, packDirectory, type PackageLimits } from './index.ts';
import { encodeHeader, endOfArchive, paddingFor, TYPE, writeChecksum } from './tar-format.ts';
import { TarParser } from './tar-parser.ts';
import { GOOD_PXP, tempDirs } from './test-helpers.ts';

const tmp = tempDirs('pxp-extract-test');
afterAll(() => tmp.cleanup());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Extracts expecting failure; returns the code and checks the staging root was left empty. */
async function failure(file: string, limits?: Partial<PackageLimits>): Promise<string> {
  const stagingRoot = join(await tmp.make(), 'stage');
  const err = await extractPackage(file, { limits, stagingRoot }).then(
    (out) => {
      void out.remove();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PackageError);
  expect(await readdir(stagingRoot).catch(() => [])).toEqual([]);
  return (err as PackageError).code;
}

function tarOf(
  entries: Array<{ path: string; data?: Buffer; type?: string; size?: number }>,
  trailer: Buffer = Buffer.alloc(0),
): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const size = e.size ?? data.length;
    parts.push(
      encodeHeader({ path: e.path, type: e.type ?? TYPE.file, size }),
      data,
      Buffer.alloc(paddingFor(data.length)),
    );
    n += 512 + data.length + paddingFor(data.length);
  }
  parts.push(endOfArchive(n), trailer);
  return Buffer.concat(parts);
}

async function writePkg(bytes: Buffer): Promise<string> {
  const file = join(await tmp.make(), 'p.pxp');
  await writeFile(file, bytes);
  return file;
}

describe('extractPackage', () => {
  it('unpacks into a fresh folder under stagingRoot, hashing every file in the same pass', async () => {
    const stagingRoot = join(await tmp.make(), 'stage');
    const out = await extractPackage(GOOD_PXP, { stagingRoot });
    try {
      expect(out.dir.startsWith(join(stagingRoot, 'pxp-'))).toBe(true);
      expect(out.files.map((f) => f.path)).toEqual([
        '_pxp/SHA256SUMS',
        '_pxp/SHA256SUMS.sig',
        '_pxp/signer.json',
        'admin/index.html',
        'dist/lib/greeting.js',
        'dist/seed.js',
        'dist/server.js',
        'manifest.json',
      ]);
      for (const f of out.files) {
        const bytes = await readFile(join(out.dir, f.path));
        expect(f.sha256).toBe(sha(bytes));
        expect(f.size).toBe(bytes.length);
      }
      expect(out.packageSha256).toBe(sha(await readFile(GOOD_PXP)));
    } finally {
      await out.remove();
    }
    expect(await readdir(stagingRoot)).toEqual([]);
  });

  it('enforces each limit when it is lowered', async () => {
    expect(await failure(GOOD_PXP, { maxEntries: 5 })).toBe('PXP_TOO_MANY_ENTRIES');
    expect(await failure(GOOD_PXP, { maxCompressedBytes: 100 })).toBe('PXP_TOO_LARGE');
    expect(await failure(GOOD_PXP, { maxUncompressedBytes: 2000 })).toBe('PXP_UNCOMPRESSED_TOO_LARGE');
    expect(await failure(GOOD_PXP, { maxPathLength: 10 })).toBe('PXP_PATH_TOO_LONG');
  });

  it('refuses a compression ratio above the limit once past the first MiB', async () => {
    const dir = await tmp.make();
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'manifest.json'), '{}');
    await writeFile(join(dir, 'src', 'text.txt'), 'all work and no play '.repeat(200_000)); // ~4 MiB, compresses ~300×
    const packed = await packDirectory(join(dir, 'src'), join(dir, 'p.pxp'));
    expect(await failure(packed.file, { maxCompressionRatio: 10 })).toBe('PXP_COMPRESSION_RATIO');
    const out = await extractPackage(packed.file, {
      limits: { maxCompressionRatio: 1000 },
      stagingRoot: join(dir, 'stage'),
    });
    await out.remove();
  });

  it('refuses a header that promises more bytes than the limit before reading them', async () => {
    const tar = Buffer.concat([
      encodeHeader({ path: 'big.bin', type: TYPE.file, size: DEFAULT_LIMITS.maxUncompressedBytes + 1 }),
      Buffer.alloc(512 * 4),
    ]);
    expect(await failure(await writePkg(gzipSync(tar)))).toBe('PXP_UNCOMPRESSED_TOO_LARGE');
  });

  it('refuses data hidden after the end-of-archive marker', async () => {
    const tar = tarOf(
      [{ path: 'manifest.json', data: Buffer.from('{}') }],
      encodeHeader({ path: 'hidden.js', type: TYPE.file, size: 0 }),
    );
    expect(await failure(await writePkg(gzipSync(tar)))).toBe('PXP_TRUNCATED');
  });

  it('refuses bytes appended after the gzip stream, zeros or not', async () => {
    const good = await readFile(GOOD_PXP);
    expect(await failure(await writePkg(Buffer.concat([good, Buffer.alloc(100)])))).toBe('PXP_TRUNCATED');
    expect(await failure(await writePkg(Buffer.concat([good, Buffer.from('hidden')])))).toBe('PXP_TRUNCATED');
    const big = join(await tmp.make(), 'big');
    await mkdir(join(big, 'dist'), { recursive: true });
    await writeFile(join(big, 'dist', 'noise.bin'), randomBytes(3 << 20)); // several read chunks
    const packed = await packDirectory(big, join(big, '..', 'big.pxp'));
    expect(
      await failure(await writePkg(Buffer.concat([await readFile(packed.file), Buffer.alloc(2 << 20)]))),
    ).toBe('PXP_TRUNCATED');
  });

  it('refuses an archive with no end-of-archive marker', async () => {
    const tar = tarOf([{ path: 'manifest.json', data: Buffer.from('{}') }]);
    expect(await failure(await writePkg(gzipSync(tar.subarray(0, 1024))))).toBe('PXP_TRUNCATED');
  });

  it('refuses a header with a wrong checksum', async () => {
    const tar = tarOf([{ path: 'manifest.json', data: Buffer.from('{}') }]);
    tar[0] ^= 1;
    expect(await failure(await writePkg(gzipSync(tar)))).toBe('PXP_TRUNCATED');
  });

  it('refuses a path that would put a file inside another file', async () => {
    const tar = tarOf([
      { path: 'dist', data: Buffer.from('x') },
      { path: 'dist/server.js', data: Buffer.from('y') },
    ]);
    expect(await failure(await writePkg(gzipSync(tar)))).toBe('PXP_BAD_PATH');
  });

  it('refuses a file and a directory with the same path', async () => {
    const tar = tarOf([
      { path: 'dist/a.js', data: Buffer.from('x') },
      { path: 'dist', type: TYPE.directory },
      { path: 'dist/a.js/', type: TYPE.directory },
    ]);
    expect(await failure(await writePkg(gzipSync(tar)))).toBe('PXP_DUPLICATE_ENTRY');
  });

  it('accepts "./"-prefixed names and directory entries as GNU tar writes them', async () => {
    const tar = tarOf([
      { path: './', type: TYPE.directory },
      { path: './dist/', type: TYPE.directory },
      { path: './dist/a.js', data: Buffer.from('a') },
    ]);
    const out = await extractPackage(await writePkg(gzipSync(tar)), { stagingRoot: await tmp.make() });
    expect(out.files.map((f) => f.path)).toEqual(['dist/a.js']);
    await out.remove();
  });

  it('reads old GNU headers without taking their time fields for a name prefix', async () => {
    const header = encodeHeader({ path: 'dist/a.js', type: TYPE.file, size: 1 });
    header.write('ustar  \u0000', 257, 8, 'latin1');
    header.write('14723412345', 345, 'latin1'); // an atime, where POSIX keeps the prefix
    writeChecksum(header);
    const tar = Buffer.concat([header, Buffer.from('a'), Buffer.alloc(511), endOfArchive(1024)]);
    const out = await extractPackage(await writePkg(gzipSync(tar)), { stagingRoot: await tmp.make() });
    expect(out.files.map((f) => f.path)).toEqual(['dist/a.js']);
    await out.remove();
  });

  it('treats a pre-POSIX "name/" regular entry as a directory, and refuses one with content', async () => {
    const ok = tarOf([
      { path: 'dist/', type: TYPE.oldFile },
      { path: 'dist/a.js', data: Buffer.from('a') },
    ]);
    const out = await extractPackage(await writePkg(gzipSync(ok)), { stagingRoot: await tmp.make() });
    expect(out.files.map((f) => f.path)).toEqual(['dist/a.js']);
    await out.remove();
    const bad = tarOf([{ path: 'dist/', data: Buffer.from('content') }]);
    expect(await failure(await writePkg(gzipSync(bad)))).toBe('PXP_BAD_PATH');
  });

  it('says PXP_NOT_FOUND for a missing file and PXP_NOT_GZIP for an empty one', async () => {
    expect(await failure(join(await tmp.make(), 'nope.pxp'))).toBe('PXP_NOT_FOUND');
    expect(await failure(await writePkg(Buffer.alloc(0)))).toBe('PXP_NOT_GZIP');
  });
});

describe('TarParser', () => {
  it('gives the same entries and bytes whatever the chunk boundaries', async () => {
    const tar = gunzipSync(await readFile(GOOD_PXP));
    const run = (chunk: number) => {
      const seen: string[] = [];
      const parser = new TarParser((entry) => {
        const hash = createHash('sha256');
        return { write: (b) => hash.update(b), end: () => seen.push(`${entry.path}:${hash.digest('hex')}`) };
      });
      for (let i = 0; i < tar.length; i += chunk) parser.push(tar.subarray(i, i + chunk));
      parser.end();
      return seen;
    };
    const whole = run(tar.length);
    expect(whole).toHaveLength(8);
    for (const size of [1, 7, 511, 513, 4096]) expect(run(size)).toEqual(whole);
  });
});
