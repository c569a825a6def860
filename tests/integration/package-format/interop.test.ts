/**
 * A package is checkable with standard tools, as docs/architecture.md promises: GNU tar lists and
 * extracts it, `sha256sum -c _pxp/SHA256SUMS` passes, `openssl pkeyutl -verify -rawin` accepts the
 * signature. And the other way round: a package re-made with GNU tar still validates.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractPackage, packDirectory, readPrivateKeyFile, validatePackage } from '@powerx/package-format';

const FIXTURES = fileURLToPath(new URL('../../../packages/package-format/fixtures/', import.meta.url));
const TEST_PUB = join(FIXTURES, 'keys', 'test.pub.pem');

let tmp: string;
let pkg: string;
let unpacked: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(os.tmpdir(), 'pxp-interop-'));
  // Pack from content unpacked by GNU tar, so this test does not rely on our own unpacker.
  const src = join(tmp, 'src');
  await mkdir(src);
  execFileSync('tar', ['-xzf', join(FIXTURES, 'good', 'hello.pxp'), '-C', src, '--exclude', '_pxp']);
  pkg = (
    await packDirectory(src, join(tmp, 'hello.pxp'), {
      privateKeyPem: await readPrivateKeyFile(join(FIXTURES, 'keys', 'test.key.pem')),
    })
  ).file;
  unpacked = join(tmp, 'unpacked');
  await mkdir(unpacked);
  execFileSync('tar', ['-xzf', pkg, '-C', unpacked]);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('interoperability with standard tools', () => {
  it('GNU tar lists every entry, sorted, with fixed owner and time', () => {
    const listing = execFileSync('tar', ['-tzf', pkg]).toString().trim().split('\n');
    expect(listing).toEqual([
      '_pxp/SHA256SUMS',
      '_pxp/SHA256SUMS.sig',
      '_pxp/signer.json',
      'admin/index.html',
      'dist/lib/greeting.js',
      'dist/seed.js',
      'dist/server.js',
      'manifest.json',
    ]);
    const verbose = execFileSync('tar', ['-tvzf', pkg, '--numeric-owner']).toString();
    for (const line of verbose.trim().split('\n'))
      expect(line).toMatch(/^-rw-r--r-- 0\/0 .* 2000-01-01 00:00 /);
  });

  it('sha256sum -c _pxp/SHA256SUMS passes on the extracted package', () => {
    const out = execFileSync('sha256sum', ['-c', '_pxp/SHA256SUMS'], { cwd: unpacked }).toString();
    expect(out.trim().split('\n')).toHaveLength(5);
    expect(out).not.toContain('FAILED');
  });

  it('openssl pkeyutl -verify -rawin accepts the signature with the public key', () => {
    const out = execFileSync(
      'openssl',
      [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        TEST_PUB,
        '-rawin',
        '-in',
        '_pxp/SHA256SUMS',
        '-sigfile',
        '_pxp/SHA256SUMS.sig',
      ],
      { cwd: unpacked },
    ).toString();
    expect(out).toContain('Signature Verified Successfully');
  });

  it('signer.json names the keyId openssl derives from the public key', async () => {
    const signer = JSON.parse(await readFile(join(unpacked, '_pxp', 'signer.json'), 'utf8'));
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', TEST_PUB, '-outform', 'DER']);
    const keyId = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().slice(0, 16);
    expect(signer).toEqual({ keyId, algorithm: 'ed25519' });
  });

  it('a package re-made with GNU tar from the extracted files still validates', async () => {
    const remade = join(tmp, 'remade.pxp');
    execFileSync('tar', ['-czf', remade, '-C', unpacked, '.']);
    const report = await validatePackage(remade, {
      trustedKeys: [await readFile(TEST_PUB, 'utf8')],
      stagingRoot: join(tmp, 'stage'),
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('what our unpacker extracts is byte-identical to what GNU tar extracts', async () => {
    const out = await extractPackage(pkg, { stagingRoot: join(tmp, 'stage') });
    try {
      const diff = execFileSync('diff', ['-r', unpacked, out.dir]).toString();
      expect(diff).toBe('');
    } finally {
      await out.remove();
    }
  });
});
