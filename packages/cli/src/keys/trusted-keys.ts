/**
 * The public keys `px-plugin validate` trusts: every ~/.px-plugin/keys/*.pub.pem (your own keys,
 * so a package you just built validates), plus each --trust file. Core trusts its own configured
 * keys instead; --trust lets you check against exactly those.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { keyIdOf, readPublicKeyFile } from '@powerx/package-format';
import { keysDir } from '../cli-paths.ts';

export interface TrustedKey {
  path: string;
  keyId: string;
  pem: string;
}

export async function trustedKeys(
  trust: string[],
  options: { includeDefaults: boolean },
): Promise<{ keys: TrustedKey[]; skipped: string[] }> {
  const keys: TrustedKey[] = [];
  const skipped: string[] = [];
  if (options.includeDefaults) {
    const dir = keysDir();
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.pub.pem')).sort()) {
      const path = join(dir, name);
      // A broken file in the key folder should not block validation against the others.
      try {
        const pem = await readPublicKeyFile(path);
        keys.push({ path, pem, keyId: keyIdOf(pem) });
      } catch {
        skipped.push(path);
      }
    }
  }
  for (const file of trust) {
    const path = resolve(file);
    const pem = await readPublicKeyFile(path); // named explicitly: an error if missing or invalid
    keys.push({ path, pem, keyId: keyIdOf(pem) });
  }
  return { keys, skipped };
}
