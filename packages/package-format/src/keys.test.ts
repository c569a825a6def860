import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageError } from '@powerx/protocol';
import { generateKeyPair, keyIdOf, readPrivateKeyFile, readPublicKeyFile } from './index.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(os.tmpdir(), 'pxp-keys-test-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PackageError);
    return (err as PackageError).code;
  }
}

describe('keys', () => {
  it('generates an Ed25519 pair as PKCS#8 and SPKI PEM with a 16-hex keyId', () => {
    const pair = generateKeyPair();
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pair.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(pair.privateKeyPem)).toBe(pair.keyId);
    expect(generateKeyPair().keyId).not.toBe(pair.keyId);
  });

  it('computes the keyId openssl computes: sha256 of the SPKI DER, first 16 hex', async () => {
    const pair = generateKeyPair();
    const pub = join(tmp, 'k.pub.pem');
    await writeFile(pub, pair.publicKeyPem);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pub, '-outform', 'DER']);
    const hex = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().slice(0, 16);
    expect(pair.keyId).toBe(hex);
  });

  it('reads key files back as PEM text', async () => {
    const pair = generateKeyPair();
    await writeFile(join(tmp, 'a.key.pem'), pair.privateKeyPem);
    await writeFile(join(tmp, 'a.pub.pem'), pair.publicKeyPem);
    expect(await readPrivateKeyFile(join(tmp, 'a.key.pem'))).toBe(pair.privateKeyPem);
    expect(await readPublicKeyFile(join(tmp, 'a.pub.pem'))).toBe(pair.publicKeyPem);
  });

  it('says KEY_NOT_FOUND for a missing key file', async () => {
    expect(await codeOf(readPrivateKeyFile(join(tmp, 'nope.key.pem')))).toBe('KEY_NOT_FOUND');
    expect(await codeOf(readPublicKeyFile(join(tmp, 'nope.pub.pem')))).toBe('KEY_NOT_FOUND');
  });

  it('says KEY_INVALID for text that is no key, an RSA key, or a private key given as public', async () => {
    const pair = generateKeyPair();
    const rsa = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await writeFile(join(tmp, 'junk.pem'), 'not a key\n');
    await writeFile(join(tmp, 'rsa.key.pem'), rsa.privateKey);
    await writeFile(join(tmp, 'rsa.pub.pem'), rsa.publicKey);
    await writeFile(join(tmp, 'priv-as-pub.pem'), pair.privateKeyPem);
    expect(await codeOf(readPrivateKeyFile(join(tmp, 'junk.pem')))).toBe('KEY_INVALID');
    expect(await codeOf(readPrivateKeyFile(join(tmp, 'rsa.key.pem')))).toBe('KEY_INVALID');
    expect(await codeOf(readPublicKeyFile(join(tmp, 'rsa.pub.pem')))).toBe('KEY_INVALID');
    expect(await codeOf(readPublicKeyFile(join(tmp, 'priv-as-pub.pem')))).toBe('KEY_INVALID');
  });

  it('never puts key material in a KEY_INVALID message', async () => {
    const pair = generateKeyPair();
    const broken = pair.privateKeyPem.replace('PRIVATE KEY-----\n', 'PRIVATE KEY-----\n!!');
    await writeFile(join(tmp, 'broken.key.pem'), broken);
    const err = await readPrivateKeyFile(join(tmp, 'broken.key.pem')).catch((e: PackageError) => e);
    expect((err as PackageError).code).toBe('KEY_INVALID');
    const body = pair.privateKeyPem.split('\n')[1];
    expect((err as PackageError).message).not.toContain(body.slice(4, 20));
  });
});
