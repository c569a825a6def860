import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PackageError } from '@powerx/protocol';

/**
 * Ed25519 signing keys as PEM (PKCS#8 private, SPKI public), the formats `openssl` reads.
 * A keyId is the first 16 hex characters of SHA-256 over the SPKI DER of the public key: short
 * enough to show, long enough not to collide in a trust list, and computable by anyone with
 * `openssl pkey -pubin -outform DER | sha256sum`.
 */

export interface GeneratedKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

export function generateKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey, keyId: keyIdOf(publicKey) };
}

/** keyId of a public key (PEM or KeyObject). A private key is accepted too: its public half is used. */
export function keyIdOf(key: string | KeyObject): string {
  const pub =
    typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Parses an Ed25519 private key PEM; throws KEY_INVALID (with `path` for the message). */
export function parsePrivateKey(pem: string, path = '(inline key)'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new PackageError('KEY_INVALID', { path, detail: errorDetail(err) }, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new PackageError('KEY_INVALID', { path, detail: `it is a ${key.asymmetricKeyType} key` });
  return key;
}

/** Parses an Ed25519 public key PEM (SPKI); throws KEY_INVALID. A private key is refused: trust lists hold public keys. */
export function parsePublicKey(pem: string, path = '(inline key)'): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new PackageError('KEY_INVALID', { path, detail: 'it is a private key; pass the .pub.pem file' });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new PackageError('KEY_INVALID', { path, detail: errorDetail(err) }, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new PackageError('KEY_INVALID', { path, detail: `it is a ${key.asymmetricKeyType} key` });
  return key;
}

/** Reads and checks a private key file; returns its PEM text. KEY_NOT_FOUND / KEY_INVALID. */
export async function readPrivateKeyFile(path: string): Promise<string> {
  const pem = await readKeyText(path);
  parsePrivateKey(pem, path);
  return pem;
}

/** Reads and checks a public key file; returns its PEM text. KEY_NOT_FOUND / KEY_INVALID. */
export async function readPublicKeyFile(path: string): Promise<string> {
  const pem = await readKeyText(path);
  parsePublicKey(pem, path);
  return pem;
}

async function readKeyText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new PackageError('KEY_NOT_FOUND', { path }, { cause: err });
    throw new PackageError('KEY_INVALID', { path, detail: errorDetail(err) }, { cause: err });
  }
}

/** An error's message without echoing key material (OpenSSL messages never include it). */
function errorDetail(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}
