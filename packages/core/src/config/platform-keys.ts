/** The platform's public signing keys: given to startCore, and every *.pem public key in the keys folder. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreConfig } from './core-config.ts';
import { coreConfigError } from './settings.ts';

export async function loadPlatformKeys(
  given: string[],
  dir: CoreConfig['platformKeysDir'],
): Promise<string[]> {
  const keys = [...given];
  if (dir === false) return keys;
  const files = await readdir(dir.path).catch((error: NodeJS.ErrnoException) => {
    // The default folder is optional; one named in PX_PLATFORM_KEYS_DIR must be there.
    if (dir.explicit)
      throw coreConfigError(
        'PX_PLATFORM_KEYS_DIR',
        dir.path,
        `cannot read the folder: ${error.code}`,
        'Point PX_PLATFORM_KEYS_DIR at a readable folder of *.pem public keys, or unset it.',
      );
    return [] as string[];
  });
  // Only public keys: a private key dropped in the folder by mistake is ignored, never loaded.
  for (const file of files.filter((f) => f.endsWith('.pem')).sort()) {
    const pem = await readFile(join(dir.path, file), 'utf8');
    if (pem.includes('BEGIN PUBLIC KEY')) keys.push(pem);
  }
  return keys;
}
