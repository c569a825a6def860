/**
 * Which private key signs a build or `px-plugin sign`: `--key <path>`, else the path in
 * PX_PLUGIN_KEY, else ~/.px-plugin/keys/default.key.pem when it exists. An explicitly named key
 * that is missing or invalid is an error; a missing default key just means "unsigned".
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { keyIdOf, readPrivateKeyFile } from '@powerx/package-format';
import { PackageError } from '@powerx/protocol';
import { defaultKeyPrefix } from '../cli-paths.ts';

export type KeySource = '--key' | 'PX_PLUGIN_KEY' | 'default key';

export interface SigningKey {
  privateKeyPem: string;
  path: string;
  keyId: string;
  source: KeySource;
}

export function defaultPrivateKeyPath(): string {
  return `${defaultKeyPrefix()}.key.pem`;
}

/** The key to sign with, or undefined when none is configured (and none is required). */
export async function findSigningKey(options: { key?: string }): Promise<SigningKey | undefined> {
  const env = process.env.PX_PLUGIN_KEY;
  const [path, source]: [string | undefined, KeySource] = options.key
    ? [resolve(options.key), '--key']
    : env
      ? [resolve(env), 'PX_PLUGIN_KEY']
      : [existsSync(defaultPrivateKeyPath()) ? defaultPrivateKeyPath() : undefined, 'default key'];
  if (!path) return undefined;
  const privateKeyPem = await readPrivateKeyFile(path);
  return { privateKeyPem, path, keyId: keyIdOf(privateKeyPem), source };
}

/** Like findSigningKey, but no key at all is KEY_NOT_FOUND (for `px-plugin sign`). */
export async function requireSigningKey(options: { key?: string }): Promise<SigningKey> {
  const key = await findSigningKey(options);
  if (!key) throw new PackageError('KEY_NOT_FOUND', { path: defaultPrivateKeyPath() });
  return key;
}
