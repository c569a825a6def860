import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePackage, type PackageValidationReport } from './index.ts';
import { FIXTURES, GOOD_PXP, goodSource, TEST_PUB, tempDirs, UNTRUSTED_PUB } from './test-helpers.ts';

const tmp = tempDirs('pxp-validate-test');
let trust: string[];
let goodSrc: string;
beforeAll(async () => {
  trust = [await readFile(TEST_PUB, 'utf8')];
  goodSrc = await goodSource(await tmp.make());
});
afterAll(() => tmp.cleanup());

const ALL_IDS = [
  'archive.safety',
  'manifest.present',
  'manifest.schema',
  'manifest.semantics',
  'integrity.hashes',
  'signature.valid',
  'signature.trusted',
];
const byId = (r: PackageValidationReport, id: string) => r.checks.find((c) => c.id === id)!;

/** Every failed check either has a code and a hint, or says it was not run and why. */
function expectConsistent(r: PackageValidationReport): void {
  for (const c of r.checks) {
    expect(c.title).toBeTruthy();
    if (c.ok) continue;
    if (c.code) expect(c.hint, c.id).toBeTruthy();
    else expect(c.message, c.id).toMatch(/^Not run: .+\.$/);
  }
  expect(r.ok).toBe(r.checks.every((c) => c.ok));
}

describe('validatePackage', () => {
  it('passes the good package with every check, in the documented order', async () => {
    const stagingRoot = await tmp.make();
    const r = await validatePackage(GOOD_PXP, { trustedKeys: trust, coreVersion: '1.5.0', stagingRoot });
    expect(r.checks.map((c) => [c.id, c.ok])).toEqual(
      [...ALL_IDS, 'core.compatible'].map((id) => [id, true]),
    );
    expect(r.ok).toBe(true);
    expect(r.manifest?.id).toBe('com.powerx.fixture.hello');
    expect(r.signer).toEqual({ keyId: 'd0ba6078864064d4', algorithm: 'ed25519' });
    expect(r.packageSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stagingDir).toBeUndefined();
    expect(await readdir(stagingRoot)).toEqual([]);
    for (const c of r.checks) expect(typeof c.durationMs).toBe('number');
  });

  it('keeps the staging folder for the caller when asked and the package is good', async () => {
    const stagingRoot = await tmp.make();
    const r = await validatePackage(GOOD_PXP, { trustedKeys: trust, stagingRoot, keepStaging: true });
    expect(r.ok).toBe(true);
    expect(r.stagingDir?.startsWith(stagingRoot)).toBe(true);
    expect((await readdir(r.stagingDir!, { recursive: true })).sort()).toContain('dist/server.js');
    await rm(r.stagingDir!, { recursive: true });
  });

  it('removes the staging folder even with keepStaging when the package fails', async () => {
    const stagingRoot = await tmp.make();
    const r = await validatePackage(join(FIXTURES, 'bad', 'tampered-file.pxp'), {
      trustedKeys: trust,
      stagingRoot,
      keepStaging: true,
    });
    expect(r.ok).toBe(false);
    expect(r.stagingDir).toBeUndefined();
    expect(await readdir(stagingRoot)).toEqual([]);
  });

  it('omits core.compatible without a core version and fails it with CORE_INCOMPATIBLE outside the range', async () => {
    const without = await validatePackage(GOOD_PXP, { trustedKeys: trust });
    expect(without.checks.map((c) => c.id)).toEqual(ALL_IDS);
    const r = await validatePackage(GOOD_PXP, { trustedKeys: trust, coreVersion: '2.0.0' });
    expect(byId(r, 'core.compatible')).toMatchObject({ ok: false, code: 'CORE_INCOMPATIBLE' });
    expect(byId(r, 'core.compatible').message).toContain('>=1.0.0 <2.0.0');
    expect(r.ok).toBe(false);
  });

  it('accepts an unsigned package only when allowUnsigned is set', async () => {
    const unsigned = join(FIXTURES, 'good', 'hello-unsigned.pxp');
    const strict = await validatePackage(unsigned, { trustedKeys: trust });
    expect(byId(strict, 'signature.valid')).toMatchObject({ ok: false, code: 'PXP_UNSIGNED' });
    expect(byId(strict, 'signature.trusted').message).toMatch(/^Not run: the package is not signed/);
    expectConsistent(strict);
    const dev = await validatePackage(unsigned, { allowUnsigned: true });
    expect(dev.ok).toBe(true);
    expect(byId(dev, 'signature.valid').message).toContain('unsigned');
  });

  it('refuses a package signed by an unknown key even where unsigned ones are allowed', async () => {
    const r = await validatePackage(join(FIXTURES, 'bad', 'untrusted-key.pxp'), {
      trustedKeys: trust,
      allowUnsigned: true,
    });
    expect(byId(r, 'signature.trusted')).toMatchObject({ ok: false, code: 'PXP_KEY_UNTRUSTED' });
    const flipped = await validatePackage(join(FIXTURES, 'bad', 'signature-flipped.pxp'), {
      trustedKeys: trust,
      allowUnsigned: true,
    });
    expect(byId(flipped, 'signature.valid')).toMatchObject({ ok: false, code: 'PXP_SIGNATURE_INVALID' });
  });

  it('names the key when no trusted key matches, and says why the signature was not checked', async () => {
    const r = await validatePackage(GOOD_PXP, { trustedKeys: [await readFile(UNTRUSTED_PUB, 'utf8')] });
    expect(byId(r, 'signature.trusted')).toMatchObject({ ok: false, code: 'PXP_KEY_UNTRUSTED' });
    expect(byId(r, 'signature.trusted').message).toContain('d0ba6078864064d4');
    expect(byId(r, 'signature.valid').message).toMatch(
      /^Not run: the signing key d0ba6078864064d4 is not trusted/,
    );
    expectConsistent(r);
    const none = await validatePackage(GOOD_PXP);
    expect(byId(none, 'signature.trusted').code).toBe('PXP_KEY_UNTRUSTED');
  });

  it('marks every later check as not run when the archive is unsafe', async () => {
    const r = await validatePackage(join(FIXTURES, 'bad', 'symlink.pxp'), {
      trustedKeys: trust,
      coreVersion: '1.0.0',
    });
    expect(r.checks.map((c) => c.id)).toEqual([...ALL_IDS, 'core.compatible']);
    expect(r.checks[0]).toMatchObject({ ok: false, code: 'PXP_SYMLINK_ENTRY' });
    for (const c of r.checks.slice(1))
      expect(c.message).toMatch(/^Not run: the archive failed its safety check/);
    expectConsistent(r);
  });

  it('reports PXP_NOT_FOUND for a path that does not exist, without throwing', async () => {
    const r = await validatePackage(join(await tmp.make(), 'missing.pxp'));
    expect(r.checks[0]).toMatchObject({ id: 'archive.safety', ok: false, code: 'PXP_NOT_FOUND' });
  });

  it('validates an unpacked package folder in place, creating nothing', async () => {
    const dir = await tmp.make();
    const pkg = join(dir, 'pkg');
    await cp(goodSrc, pkg, { recursive: true });
    const { extractPackage } = await import('./extract.ts');
    const out = await extractPackage(GOOD_PXP, { stagingRoot: join(dir, 'x') });
    await cp(join(out.dir, '_pxp'), join(pkg, '_pxp'), { recursive: true });
    await out.remove();
    const stagingRoot = join(dir, 'stage');
    const r = await validatePackage(pkg, { trustedKeys: trust, stagingRoot });
    expect(r.ok).toBe(true);
    expect(r.packageSha256).toBeUndefined();
    expect(await readdir(dir)).toEqual(['pkg', 'x']);
    // keepStaging copies what it hashed, so later edits of the folder cannot change what was validated
    const kept = await validatePackage(pkg, { trustedKeys: trust, stagingRoot, keepStaging: true });
    expect(kept.stagingDir?.startsWith(stagingRoot)).toBe(true);
    await writeFile(join(pkg, 'dist', 'server.js'), 'changed');
    expect(await readFile(join(kept.stagingDir!, 'dist', 'server.js'), 'utf8')).not.toBe('changed');
    const after = await validatePackage(pkg, { trustedKeys: trust });
    expect(byId(after, 'integrity.hashes')).toMatchObject({ ok: false, code: 'PXP_HASH_MISMATCH' });
  });

  it('accepts a package folder named through a symlink', async () => {
    const dir = await tmp.make();
    await symlink(goodSrc, join(dir, 'link'));
    const r = await validatePackage(join(dir, 'link'), { allowUnsigned: true });
    expect(r.checks[0]).toMatchObject({ id: 'archive.safety', ok: true });
  });

  it('refuses a folder holding a symlink, like an archive holding one', async () => {
    const dir = await tmp.make();
    await cp(goodSrc, join(dir, 'pkg'), { recursive: true });
    await mkdir(join(dir, 'pkg', 'more'));
    await symlink('/etc/passwd', join(dir, 'pkg', 'more', 'passwd'));
    const r = await validatePackage(join(dir, 'pkg'), { trustedKeys: trust });
    expect(r.checks[0]).toMatchObject({ ok: false, code: 'PXP_SYMLINK_ENTRY' });
  });

  it('throws for caller mistakes: a trusted key that is not a key, a core version that is not semver', async () => {
    await expect(validatePackage(GOOD_PXP, { trustedKeys: ['nope'] })).rejects.toMatchObject({
      code: 'KEY_INVALID',
    });
    await expect(validatePackage(GOOD_PXP, { coreVersion: 'one' })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('never throws and never leaves a staging folder for randomly corrupted packages', async () => {
    const stagingRoot = await tmp.make();
    const good = await readFile(GOOD_PXP);
    const tar = gunzipSync(good);
    let seed = 7; // deterministic: a failure here is reproducible
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const file = join(await tmp.make(), 'fuzz.pxp');
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const inTar = i % 2 === 0; // corrupt the tar (headers) and re-gzip, or the gzip bytes themselves
      const bytes = Buffer.from(inTar ? tar : good);
      for (let j = 1 + rnd(3); j > 0; j--) bytes[inTar ? rnd(4096) : rnd(bytes.length)] = rnd(256);
      await writeFile(file, inTar ? gzipSync(bytes) : bytes);
      const r = await validatePackage(file, { trustedKeys: trust, stagingRoot, keepStaging: i % 3 === 0 });
      if (r.stagingDir) await rm(r.stagingDir, { recursive: true });
      expectConsistent(r);
      if (!r.ok) expect(r.checks.some((c) => !c.ok && c.code)).toBe(true);
      seen.add(r.ok ? 'ok' : r.checks.find((c) => !c.ok && c.code)!.code!);
      expect(await readdir(stagingRoot)).toEqual([]);
    }
    expect(seen.size).toBeGreaterThan(4);
  });
});
