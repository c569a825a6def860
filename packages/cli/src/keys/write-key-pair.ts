/**
 * `px-plugin keygen`: a new Ed25519 pair written as `<prefix>.key.pem` (0600, folder 0700) and
 * `<prefix>.pub.pem`. Never overwrites silently: an existing file is KEY_EXISTS unless forced.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { generateKeyPair } from '@powerx/package-format';
import { ConflictError } from '@powerx/protocol';
import { defaultKeyPrefix } from '../cli-paths.ts';

export interface WrittenKeyPair {
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/** `--out ./release` → ./release.key.pem + ./release.pub.pem; a trailing .key.pem/.pub.pem/.pem is dropped. */
export function keyPaths(outPrefix?: string): { privateKeyPath: string; publicKeyPath: string } {
  const prefix = outPrefix ? resolve(outPrefix).replace(/(\.key|\.pub)?\.pem$/, '') : defaultKeyPrefix();
  return { privateKeyPath: `${prefix}.key.pem`, publicKeyPath: `${prefix}.pub.pem` };
}

export async function writeKeyPair(options: { out?: string; force?: boolean }): Promise<WrittenKeyPair> {
  const { privateKeyPath, publicKeyPath } = keyPaths(options.out);
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (existsSync(path) && !options.force) throw new ConflictError('KEY_EXISTS', { path });
  }
  const dir = dirname(privateKeyPath);
  if (!existsSync(dir)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPair();
  // Write both to temp names first, then rename: never a private key without its public half.
  const tmpPrivate = `${privateKeyPath}.tmp-${process.pid}`;
  const tmpPublic = `${publicKeyPath}.tmp-${process.pid}`;
  try {
    await writeFile(tmpPrivate, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await chmod(tmpPrivate, 0o600); // the mode above is masked by umask; make sure
    await writeFile(tmpPublic, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
    await rename(tmpPrivate, privateKeyPath);
    await rename(tmpPublic, publicKeyPath);
  } finally {
    await rm(tmpPrivate, { force: true });
    await rm(tmpPublic, { force: true });
  }
  return { keyId: pair.keyId, privateKeyPath, publicKeyPath };
}
