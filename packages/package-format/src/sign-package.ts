import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ERROR_CODES, fillTemplate, PackageError } from '@powerx/protocol';
import { extractPackage, type ExtractOptions } from './extract.ts';
import { checkIntegrity } from './integrity.ts';
import { parsePrivateKey } from './keys.ts';
import { SUMS_PATH } from './package-layout.ts';
import { packDirectory } from './pack.ts';

/**
 * (Re)signs an existing package: unpacks it safely, refuses it unless its files match its
 * SHA256SUMS exactly (signing must never bless a tampered package), and packs the same content
 * again with the new signature. The result is byte-identical to packing the original folder with
 * that key. Writes to `outFile` (default: replaces `pkgFile`, atomically).
 */
export async function signPackage(
  pkgFile: string,
  privateKeyPem: string,
  opts: { outFile?: string } & Pick<ExtractOptions, 'limits' | 'stagingRoot'> = {},
): Promise<{ keyId: string; file: string }> {
  parsePrivateKey(privateKeyPem); // a bad key fails before any unpacking
  const staged = await extractPackage(pkgFile, { limits: opts.limits, stagingRoot: opts.stagingRoot });
  try {
    const hashes = new Map(staged.files.map((f) => [f.path, f.sha256]));
    const sums = hashes.has(SUMS_PATH) ? await readFile(join(staged.dir, SUMS_PATH)) : undefined;
    const { problems } = checkIntegrity(hashes, sums);
    if (problems.length) {
      const [first] = problems;
      throw new PackageError(first.code, first.params, {
        hint: first.hint ?? fillTemplate(ERROR_CODES[first.code].hint, first.params),
      });
    }
    const result = await packDirectory(staged.dir, resolve(opts.outFile ?? pkgFile), {
      privateKeyPem,
      limits: opts.limits,
    });
    return { keyId: result.keyId!, file: result.file };
  } finally {
    await staged.remove();
  }
}
