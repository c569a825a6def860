import { sign, verify, type KeyObject } from 'node:crypto';
import { keyIdOf } from './keys.ts';

/**
 * The signature is raw Ed25519 (64 bytes) over the exact bytes of `_pxp/SHA256SUMS`, so
 * `openssl pkeyutl -verify -rawin` checks it. signer.json names the key so a verifier can pick it
 * from its trust list; it is not itself covered by the signature, and does not need to be: a
 * forged keyId only makes verification pick a key that then rejects the signature.
 */

export interface SignerInfo {
  keyId: string;
  algorithm: 'ed25519';
}

export function signSums(sums: Buffer, privateKey: KeyObject): { signature: Buffer; signer: SignerInfo } {
  return {
    signature: sign(null, sums, privateKey),
    signer: { keyId: keyIdOf(privateKey), algorithm: 'ed25519' },
  };
}

export function verifySums(sums: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, sums, publicKey, signature);
  } catch {
    return false;
  }
}

/** signer.json bytes: fixed key order and a trailing newline, so repacking gives the same bytes. */
export function encodeSigner(signer: SignerInfo): Buffer {
  return Buffer.from(JSON.stringify({ keyId: signer.keyId, algorithm: signer.algorithm }) + '\n', 'utf8');
}

export function parseSigner(bytes: Buffer): { ok: true; signer: SignerInfo } | { ok: false; detail: string } {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { ok: false, detail: `not JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, detail: 'expected a JSON object' };
  const { keyId, algorithm } = value as Record<string, unknown>;
  if (typeof keyId !== 'string' || !/^[0-9a-f]{16}$/.test(keyId))
    return { ok: false, detail: 'keyId must be 16 lower-case hex characters' };
  if (algorithm !== 'ed25519')
    return { ok: false, detail: `algorithm must be "ed25519", got ${JSON.stringify(algorithm)}` };
  return { ok: true, signer: { keyId, algorithm } };
}
