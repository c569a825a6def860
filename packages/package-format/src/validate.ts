import type { KeyObject } from 'node:crypto';
import semver from 'semver';
import {
  InputError,
  PackageError,
  type Manifest,
  type ValidationCheck,
  type ValidationReport,
} from '@powerx/protocol';
import { checkIntegrity } from './integrity.ts';
import { keyIdOf, parsePublicKey } from './keys.ts';
import { resolveLimits, type PackageLimits } from './limits.ts';
import {
  CHECK_TITLES,
  checkManifest,
  failedCheck,
  notRunCheck,
  passedCheck,
  type CheckId,
  type ManifestProblem,
} from './manifest.ts';
import { MANIFEST_PATH, SIG_PATH, SIGNER_PATH, SUMS_PATH } from './package-layout.ts';
import { parseSigner, verifySums, type SignerInfo } from './signature.ts';
import { MAX_MANIFEST_BYTES, MAX_SIGNER_BYTES, MAX_SUMS_BYTES, stage, type Staged } from './stage-package.ts';

export interface ValidateOptions {
  /** Public keys (SPKI PEM) whose signatures are trusted. */
  trustedKeys?: string[];
  /** When given, the manifest's `powerx` range must include it (check core.compatible). */
  coreVersion?: string;
  /** Accept a package without signature (dev-mode core, sandbox tenant that allows it). */
  allowUnsigned?: boolean;
  limits?: Partial<PackageLimits>;
  /** Where staging folders are created (default: os.tmpdir()). */
  stagingRoot?: string;
  /** On success, keep the staging folder and return it as `stagingDir` (the caller moves it into place). */
  keepStaging?: boolean;
}

export type PackageValidationReport = ValidationReport & {
  manifest?: Manifest;
  signer?: SignerInfo;
  stagingDir?: string;
};

/**
 * The one package validator, run by `px-plugin validate` and by core. `input` is a `.pxp` file or
 * an unpacked package folder. Package problems never throw: every check is returned with a stable
 * id, in a fixed order, each with a code, message and hint when it fails. A check made meaningless
 * by an earlier failure is still listed, ok: false, without a code, its message starting with
 * "Not run: " and saying why. Only caller mistakes throw (a trusted key that is not an Ed25519
 * public key → KEY_INVALID, a core version that is not semver → USAGE).
 * Staging folders are removed before returning, unless `keepStaging` and the report is ok.
 */
export async function validatePackage(
  input: string,
  opts: ValidateOptions = {},
): Promise<PackageValidationReport> {
  const started = performance.now();
  const limits = resolveLimits(opts.limits);
  const trusted = trustedKeyMap(opts.trustedKeys ?? []);
  if (opts.coreVersion !== undefined && semver.valid(opts.coreVersion) === null) {
    throw new InputError('USAGE', { detail: `core version "${opts.coreVersion}" is not a semantic version` });
  }
  const checks: ValidationCheck[] = [];
  const finish = (extra: Partial<PackageValidationReport> = {}): PackageValidationReport => ({
    ok: checks.every((c) => c.ok),
    checks,
    ...extra,
    durationMs: Math.round(performance.now() - started),
  });

  // --- archive.safety -------------------------------------------------------------------------
  let t = performance.now();
  let staged: Staged;
  try {
    staged = await stage(input, limits, opts);
  } catch (err) {
    if (!(err instanceof PackageError)) throw err;
    checks.push(failedCheck('archive.safety', [{ code: err.code, params: err.details, hint: err.hint }], t));
    checks[0].message = err.message; // the error may carry a sharper message than its template
    const because = 'the archive failed its safety check, so it was not unpacked';
    for (const id of laterChecks(opts)) checks.push(notRunCheck(id, because));
    return finish();
  }
  checks.push(
    passedCheck(
      'archive.safety',
      `${staged.hashes.size} files, ${formatBytes(sum(staged.sizes.values()))} unpacked; no links, special files or unsafe paths.`,
      t,
    ),
  );

  let keep = false;
  try {
    // --- manifest.* -----------------------------------------------------------------------------
    t = performance.now();
    let manifest: Manifest | undefined;
    if (!staged.hashes.has(MANIFEST_PATH)) {
      checks.push(failedCheck('manifest.present', [{ code: 'MANIFEST_MISSING', params: {} }], t));
      checks.push(
        notRunCheck('manifest.schema', 'there is no manifest.json'),
        notRunCheck('manifest.semantics', 'there is no manifest.json'),
      );
    } else {
      checks.push(passedCheck('manifest.present', 'manifest.json is present.', t));
      t = performance.now();
      const parsed = await readJsonFile(staged, MANIFEST_PATH);
      if (!parsed.ok) {
        checks.push(failedCheck('manifest.schema', [parsed.problem], t));
        checks.push(notRunCheck('manifest.semantics', 'manifest.json could not be read as JSON'));
      } else {
        const result = checkManifest(parsed.value, { files: new Set(staged.hashes.keys()) });
        checks.push(...result.checks);
        manifest = result.manifest;
      }
    }

    // --- integrity.hashes -----------------------------------------------------------------------
    t = performance.now();
    const sums = staged.hashes.has(SUMS_PATH) ? await staged.read(SUMS_PATH, MAX_SUMS_BYTES) : undefined;
    const integrity =
      sums === null
        ? {
            problems: [
              {
                code: 'PXP_SUMS_MALFORMED',
                params: { line: 1 },
                hint: `SHA256SUMS is larger than ${formatBytes(MAX_SUMS_BYTES)}. Rebuild the package instead of editing it.`,
              } as ManifestProblem,
            ],
            checked: 0,
          }
        : checkIntegrity(staged.hashes, sums);
    checks.push(
      integrity.problems.length
        ? failedCheck('integrity.hashes', integrity.problems, t)
        : passedCheck(
            'integrity.hashes',
            `All ${integrity.checked} files match SHA256SUMS; nothing missing, nothing extra.`,
            t,
          ),
    );

    // --- signature.* ----------------------------------------------------------------------------
    const signer = await checkSignature(
      staged,
      sums ?? undefined,
      trusted,
      opts.allowUnsigned === true,
      checks,
    );

    // --- core.compatible ------------------------------------------------------------------------
    if (opts.coreVersion !== undefined) {
      t = performance.now();
      if (!manifest) {
        checks.push(notRunCheck('core.compatible', 'the manifest did not pass its checks'));
      } else if (semver.satisfies(opts.coreVersion, manifest.powerx, { includePrerelease: true })) {
        checks.push(
          passedCheck('core.compatible', `Core ${opts.coreVersion} is within "${manifest.powerx}".`, t),
        );
      } else {
        checks.push(
          failedCheck(
            'core.compatible',
            [
              {
                code: 'CORE_INCOMPATIBLE',
                params: { range: manifest.powerx, coreVersion: opts.coreVersion },
              },
            ],
            t,
          ),
        );
      }
    }

    const report = finish({
      ...(manifest ? { manifest } : {}),
      ...(signer ? { signer } : {}),
      ...(staged.packageSha256 ? { packageSha256: staged.packageSha256 } : {}),
    });
    if (report.ok && opts.keepStaging && staged.stagingDir) {
      keep = true;
      report.stagingDir = staged.stagingDir;
    }
    return report;
  } finally {
    if (!keep) await staged.remove();
  }
}

function laterChecks(opts: ValidateOptions): CheckId[] {
  const ids = (Object.keys(CHECK_TITLES) as CheckId[]).filter((id) => id !== 'archive.safety');
  return opts.coreVersion === undefined ? ids.filter((id) => id !== 'core.compatible') : ids;
}

/** Pushes signature.valid and signature.trusted; returns the signer when signer.json parsed. */
async function checkSignature(
  staged: Staged,
  sums: Buffer | undefined,
  trusted: Map<string, KeyObject>,
  allowUnsigned: boolean,
  checks: ValidationCheck[],
): Promise<SignerInfo | undefined> {
  const t = performance.now();
  const hasSig = staged.hashes.has(SIG_PATH);
  const hasSigner = staged.hashes.has(SIGNER_PATH);
  const fail = (code: ManifestProblem['code'], params: Record<string, unknown>, trustBecause: string) => {
    checks.push(failedCheck('signature.valid', [{ code, params }], t));
    checks.push(notRunCheck('signature.trusted', trustBecause));
  };
  if (!hasSig && !hasSigner) {
    if (allowUnsigned) {
      checks.push(
        passedCheck('signature.valid', 'The package is unsigned; unsigned packages are allowed here.', t),
      );
      checks.push(
        passedCheck('signature.trusted', 'No signer to trust; unsigned packages are allowed here.', t),
      );
    } else {
      fail('PXP_UNSIGNED', {}, 'the package is not signed');
    }
    return undefined;
  }
  if (!hasSig || !hasSigner) {
    fail(
      'PXP_SIGNER_MALFORMED',
      {
        detail: hasSig
          ? 'the signature has no _pxp/signer.json beside it'
          : 'there is no _pxp/SHA256SUMS.sig beside it',
      },
      'the signer could not be read',
    );
    return undefined;
  }
  const signerBytes = await staged.read(SIGNER_PATH, MAX_SIGNER_BYTES);
  const parsed =
    signerBytes === null
      ? { ok: false as const, detail: `larger than ${MAX_SIGNER_BYTES} bytes` }
      : parseSigner(signerBytes);
  if (!parsed.ok) {
    fail('PXP_SIGNER_MALFORMED', { detail: parsed.detail }, 'the signer could not be read');
    return undefined;
  }
  const { signer } = parsed;
  if (!sums) {
    checks.push(notRunCheck('signature.valid', 'there is no _pxp/SHA256SUMS to verify the signature over'));
    checks.push(notRunCheck('signature.trusted', 'there is no _pxp/SHA256SUMS to verify the signature over'));
    return signer;
  }
  const key = trusted.get(signer.keyId);
  if (!key) {
    // Without the signer's public key the signature cannot be verified; naming the key is the fix.
    // Deliberately strict even with allowUnsigned: core trusts developer keys per user, and a
    // package signed by someone else's key must not slip through as "unsigned".
    checks.push(
      notRunCheck(
        'signature.valid',
        `the signing key ${signer.keyId} is not trusted here, so the signature cannot be checked (see signature.trusted)`,
      ),
    );
    checks.push(
      failedCheck('signature.trusted', [{ code: 'PXP_KEY_UNTRUSTED', params: { keyId: signer.keyId } }], t),
    );
    return signer;
  }
  const signature = (await staged.read(SIG_PATH, 64)) ?? Buffer.alloc(0);
  if (!verifySums(sums, signature, key)) {
    checks.push(failedCheck('signature.valid', [{ code: 'PXP_SIGNATURE_INVALID', params: {} }], t));
    checks.push(notRunCheck('signature.trusted', 'the signature is not valid'));
    return signer;
  }
  checks.push(
    passedCheck('signature.valid', `Ed25519 signature over SHA256SUMS verifies with key ${signer.keyId}.`, t),
  );
  checks.push(passedCheck('signature.trusted', `Key ${signer.keyId} is trusted.`, t));
  return signer;
}

function trustedKeyMap(pems: string[]): Map<string, KeyObject> {
  const map = new Map<string, KeyObject>();
  pems.forEach((pem, i) => {
    const key = parsePublicKey(pem, `trusted key #${i + 1}`);
    map.set(keyIdOf(key), key);
  });
  return map;
}

async function readJsonFile(
  staged: Staged,
  path: string,
): Promise<{ ok: true; value: unknown } | { ok: false; problem: ManifestProblem }> {
  const bytes = await staged.read(path, MAX_MANIFEST_BYTES);
  if (bytes === null)
    return {
      ok: false,
      problem: {
        code: 'MANIFEST_INVALID',
        params: {
          detail: `manifest.json is ${staged.sizes.get(path)} bytes; the limit is ${MAX_MANIFEST_BYTES}`,
        },
      },
    };
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch (err) {
    return { ok: false, problem: { code: 'MANIFEST_NOT_JSON', params: { detail: (err as Error).message } } };
  }
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
