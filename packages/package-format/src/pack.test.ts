import { chmod, cp, mkdir, readFile, symlink, utimes, writeFile, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageError } from '@powerx/protocol';
import { extractPackage, packDirectory, signPackage } from './index.ts';
import { FIXTURES, goodSource, TEST_KEY, tempDirs } from './test-helpers.ts';

const tmp = tempDirs('pxp-pack-test');
let GOOD_SRC: string;
beforeAll(async () => {
  GOOD_SRC = await goodSource(await tmp.make());
});
afterAll(() => tmp.cleanup());
const key = () => readFile(TEST_KEY, 'utf8');

describe('packDirectory', () => {
  it('gives byte-identical packages for the same content, whatever the mtimes and creation order', async () => {
    const dir = await tmp.make();
    const first = await packDirectory(GOOD_SRC, join(dir, 'a.pxp'), { privateKeyPem: await key() });
    const second = await packDirectory(GOOD_SRC, join(dir, 'b.pxp'), { privateKeyPem: await key() });
    // A copy made file by file in reverse order, with other timestamps and permissions.
    const copy = join(dir, 'copy');
    const files = (await readdir(GOOD_SRC, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .reverse();
    for (const f of files) {
      const rel = join(f.parentPath, f.name).slice(GOOD_SRC.length + 1);
      await mkdir(join(copy, rel, '..'), { recursive: true });
      await cp(join(GOOD_SRC, rel), join(copy, rel));
      await chmod(join(copy, rel), 0o600);
      await utimes(join(copy, rel), new Date('2031-05-06'), new Date('2031-05-06'));
    }
    const third = await packDirectory(copy, join(dir, 'c.pxp'), { privateKeyPem: await key() });
    const bytes = await readFile(first.file);
    expect(await readFile(second.file)).toEqual(bytes);
    expect(await readFile(third.file)).toEqual(bytes);
    expect(third.sha256).toBe(first.sha256);
    expect(first.bytes).toBe(bytes.length);
    expect(first.fileCount).toBe(8); // 5 content files + SHA256SUMS, .sig, signer.json
    expect(first.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('matches the committed good fixture byte for byte', async () => {
    const dir = await tmp.make();
    const packed = await packDirectory(GOOD_SRC, join(dir, 'hello.pxp'), { privateKeyPem: await key() });
    expect(await readFile(packed.file)).toEqual(await readFile(join(FIXTURES, 'good', 'hello.pxp')));
  });

  it('writes a gzip header with no timestamp and the Unix OS byte', async () => {
    const dir = await tmp.make();
    const packed = await packDirectory(GOOD_SRC, join(dir, 'a.pxp'));
    const head = (await readFile(packed.file)).subarray(0, 10);
    expect([...head.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
    expect(head.readUInt32LE(4)).toBe(0);
    expect(head[9]).toBe(3);
  });

  it('leaves no temporary file beside the package', async () => {
    const dir = await tmp.make();
    await packDirectory(GOOD_SRC, join(dir, 'out', 'a.pxp'));
    expect(await readdir(join(dir, 'out'))).toEqual(['a.pxp']);
  });

  it('keeps the executable bit and nothing else of the file mode', async () => {
    const dir = await tmp.make();
    const src = join(dir, 'src');
    await cp(GOOD_SRC, src, { recursive: true });
    await writeFile(join(src, 'dist', 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(src, 'dist', 'run.sh'), 0o4775);
    const packed = await packDirectory(src, join(dir, 'a.pxp'));
    const out = await extractPackage(packed.file, { stagingRoot: join(dir, 'stage') });
    try {
      expect((await stat(join(out.dir, 'dist', 'run.sh'))).mode & 0o7777).toBe(0o755);
      expect((await stat(join(out.dir, 'dist', 'server.js'))).mode & 0o7777).toBe(0o644);
    } finally {
      await out.remove();
    }
  });

  it('replaces _pxp files already in the folder and never packs the output into itself', async () => {
    const dir = await tmp.make();
    const src = join(dir, 'src');
    await cp(GOOD_SRC, src, { recursive: true });
    await mkdir(join(src, '_pxp'));
    await writeFile(join(src, '_pxp', 'SHA256SUMS'), 'stale\n');
    await writeFile(join(src, '_pxp', 'signer.json'), '{}');
    const inside = await packDirectory(src, join(src, 'hello.pxp'), { privateKeyPem: await key() });
    const outside = await packDirectory(GOOD_SRC, join(dir, 'hello.pxp'), { privateKeyPem: await key() });
    expect(await readFile(inside.file)).toEqual(await readFile(outside.file));
  });

  it('skips its own output inside the folder even when given relative paths', async () => {
    const dir = await tmp.make();
    const src = join(dir, 'src');
    await cp(GOOD_SRC, src, { recursive: true });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const first = await packDirectory('src', 'src/hello.pxp');
      const again = await packDirectory('src', 'src/hello.pxp');
      expect(again.sha256).toBe(first.sha256);
      expect(again.fileCount).toBe(6);
    } finally {
      process.chdir(cwd);
    }
  });

  it('round-trips paths longer than a ustar name field', async () => {
    const dir = await tmp.make();
    const src = join(dir, 'src');
    const deep = `admin/${'assets-'.repeat(20)}/${'chunk-'.repeat(15)}.js`; // ~240 bytes, a split ustar name
    await cp(GOOD_SRC, src, { recursive: true });
    await mkdir(join(src, deep, '..'), { recursive: true });
    await writeFile(join(src, deep), 'deep\n');
    const packed = await packDirectory(src, join(dir, 'a.pxp'));
    const out = await extractPackage(packed.file, { stagingRoot: join(dir, 'stage') });
    try {
      expect(out.files.map((f) => f.path)).toContain(deep);
      expect(await readFile(join(out.dir, deep), 'utf8')).toBe('deep\n');
    } finally {
      await out.remove();
    }
  });

  it('refuses a symlink in the folder with PXP_SYMLINK_ENTRY and writes nothing', async () => {
    const dir = await tmp.make();
    const src = join(dir, 'src');
    await cp(GOOD_SRC, src, { recursive: true });
    await symlink('/etc/passwd', join(src, 'dist', 'passwd'));
    const err = await packDirectory(src, join(dir, 'out', 'a.pxp')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackageError);
    expect((err as PackageError).code).toBe('PXP_SYMLINK_ENTRY');
    expect(await readdir(dir)).toEqual(['src']);
  });

  it('says PXP_SOURCE_NOT_FOUND for a folder that does not exist', async () => {
    const dir = await tmp.make();
    await expect(packDirectory(join(dir, 'nope'), join(dir, 'a.pxp'))).rejects.toMatchObject({
      code: 'PXP_SOURCE_NOT_FOUND',
    });
  });

  it('says KEY_INVALID for a key that is not an Ed25519 private key', async () => {
    const dir = await tmp.make();
    await expect(
      packDirectory(GOOD_SRC, join(dir, 'a.pxp'), { privateKeyPem: 'nonsense' }),
    ).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });
});

describe('signPackage', () => {
  it('signs an unsigned package into exactly the bytes a signed build gives', async () => {
    const dir = await tmp.make();
    const unsigned = await packDirectory(GOOD_SRC, join(dir, 'u.pxp'));
    const signed = await signPackage(unsigned.file, await key(), {
      outFile: join(dir, 's.pxp'),
      stagingRoot: join(dir, 'stage'),
    });
    expect(signed.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(await readFile(signed.file)).toEqual(await readFile(join(FIXTURES, 'good', 'hello.pxp')));
    expect(await readdir(join(dir, 'stage'))).toEqual([]);
  });

  it('replaces the package in place when no outFile is given', async () => {
    const dir = await tmp.make();
    const unsigned = await packDirectory(GOOD_SRC, join(dir, 'u.pxp'));
    const signed = await signPackage(unsigned.file, await key());
    expect(signed.file).toBe(unsigned.file);
    expect(await readFile(unsigned.file)).toEqual(await readFile(join(FIXTURES, 'good', 'hello.pxp')));
    expect(await readdir(dir)).toEqual(['u.pxp']);
  });

  it('refuses to sign a package whose files do not match its SHA256SUMS', async () => {
    const dir = await tmp.make();
    const target = join(dir, 'tampered.pxp');
    await cp(join(FIXTURES, 'bad', 'tampered-file.pxp'), target);
    const before = await readFile(target);
    await expect(signPackage(target, await key(), { stagingRoot: join(dir, 'stage') })).rejects.toMatchObject(
      { code: 'PXP_HASH_MISMATCH' },
    );
    expect(await readFile(target)).toEqual(before);
    expect(await readdir(join(dir, 'stage'))).toEqual([]);
  });
});
