import type { ErrorCode } from '@powerx/protocol';
import { parseSums } from './checksums.ts';
import type { ManifestProblem } from './manifest.ts';
import { UNLISTED_PATHS } from './package-layout.ts';

export interface IntegrityResult {
  problems: ManifestProblem[];
  /** Files checked against SHA256SUMS (when it parsed). */
  checked: number;
}

/**
 * Exact comparison of the package's files with `_pxp/SHA256SUMS`: every listed file present,
 * every hash equal, no file that is not listed (except SHA256SUMS itself, its signature and
 * signer.json). Problems are ordered so the first is the most telling: malformed sums, then
 * mismatches, then missing, then unlisted files.
 */
export function checkIntegrity(
  files: ReadonlyMap<string, string>,
  sums: Buffer | undefined,
): IntegrityResult {
  if (sums === undefined) return { problems: [{ code: 'PXP_SUMS_MISSING', params: {} }], checked: 0 };
  const parsed = parseSums(sums);
  if (!parsed.ok) {
    return {
      problems: [
        {
          code: 'PXP_SUMS_MALFORMED',
          params: { line: parsed.line },
          hint: `Line ${parsed.line}: ${parsed.detail}. Each line must be "<64 hex>  <path>"; rebuild the package instead of editing it.`,
        },
      ],
      checked: 0,
    };
  }
  const byCode: Record<'PXP_HASH_MISMATCH' | 'PXP_FILE_MISSING' | 'PXP_FILE_UNLISTED', ManifestProblem[]> = {
    PXP_HASH_MISMATCH: [],
    PXP_FILE_MISSING: [],
    PXP_FILE_UNLISTED: [],
  };
  const add = (code: keyof typeof byCode, path: string) =>
    byCode[code].push({ code: code as ErrorCode, params: { path } });
  for (const [path, expected] of parsed.entries) {
    const actual = files.get(path);
    if (actual === undefined) add('PXP_FILE_MISSING', path);
    else if (actual !== expected) add('PXP_HASH_MISMATCH', path);
  }
  for (const path of files.keys()) {
    if (!UNLISTED_PATHS.has(path) && !parsed.entries.has(path)) add('PXP_FILE_UNLISTED', path);
  }
  return {
    problems: [...byCode.PXP_HASH_MISMATCH, ...byCode.PXP_FILE_MISSING, ...byCode.PXP_FILE_UNLISTED],
    checked: parsed.entries.size,
  };
}
