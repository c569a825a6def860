import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import semver from 'semver';
import {
  InputError,
  PackageError,
  type Manifest,
  type ValidationCheck,
  type ValidationReport,
} from '@powerx/protocol';
import { scanArchive } from './extract.ts';
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
import { listPackageDir } from './package-dir.ts';
import { MANIFEST_PATH, SIG_PATH, SIGNER_PATH, SUMS_PATH } from './package-layout.ts';
import { mapLimited } from './pack.ts';
import { parseSigner, verifySums, type SignerInfo } from './signature.ts';

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

/** Small files are read whole; a hostile package must not make us read a 1 GiB "manifest". */
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_SUMS_BYTES = 16 * 1024 * 1024;
const MAX_SIGNER_BYTES = 4096;
const IO_BLOCK = 1 << 20;

interface Staged {
  hashes: Map<string, string>;
  sizes: Map<string, number>;
  packageSha256?: string;
  /** Removes what we created (nothing for an input folder validated in place). */
  remove(): Promise<void>;
  /** The staging folder a caller may keep, when there is one. */
  stagingDir?: string;
  /** A small file's bytes; null when it is larger than `max` (then never read). */
  read(path: string, max: number): Promise<Buffer | null>;
}

/** Files the validator reads whole, with the most it will read of each. */
const SMALL_FILES: ReadonlyMap<string, number> = new Map([
  [MANIFEST_PATH, MAX_MANIFEST_BYTES],
  [SUMS_PATH, MAX_SUMS_BYTES],
  [SIG_PATH, 64],
  [SIGNER_PATH, MAX_SIGNER_BYTES],
]);

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

// ---------------------------------------------------------------------------------------------
// Staging: a .pxp is unpacked; a folder is listed and hashed (and copied when it will be kept)

async function stage(input: string, limits: PackageLimits, opts: ValidateOptions): Promise<Staged> {
  const st = await stat(input).catch(() => undefined);
  if (!st) throw new PackageError('PXP_NOT_FOUND', { path: input });
  if (st.isDirectory()) return stageFolder(input, limits, opts);
  // Without keepStaging nothing needs to be on disk afterwards, so nothing is written: the same
  // checks and hashes, minus creating (and deleting) every file.
  const write = opts.keepStaging === true;
  const scan = await scanArchive(input, {
    limits,
    stagingRoot: opts.stagingRoot,
    write,
    capture: write ? undefined : SMALL_FILES,
  });
  const sizes = new Map(scan.files.map((f) => [f.path, f.size]));
  return {
    hashes: new Map(scan.files.map((f) => [f.path, f.sha256])),
    sizes,
    packageSha256: scan.packageSha256,
    remove: scan.remove,
    stagingDir: scan.dir,
    read: async (path, max) => {
      const size = sizes.get(path) ?? 0;
      if (size > max) return null;
      return scan.dir ? readSmall(join(scan.dir, path), size) : (scan.captured.get(path) ?? Buffer.alloc(0));
    },
  };
}

/**
 * An unpacked package folder gets the same rules as an archive. When the caller keeps the
 * result, files are copied into a fresh staging folder in the same pass that hashes them, so what
 * was validated is exactly what is kept, whatever happens to the folder afterwards.
 */
async function stageFolder(dir: string, limits: PackageLimits, opts: ValidateOptions): Promise<Staged> {
  const files = await listPackageDir(dir, limits);
  let stagingDir: string | undefined;
  if (opts.keepStaging) {
    const root = opts.stagingRoot ?? os.tmpdir();
    await mkdir(root, { recursive: true });
    stagingDir = await mkdtemp(join(root, 'pxp-'));
  }
  const remove = async () => {
    if (stagingDir) await rm(stagingDir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const hashes = await mapLimited(files, 4, async (file) => {
      const hash = createHash('sha256');
      const tap = new Transform({
        highWaterMark: IO_BLOCK,
        transform(chunk: Buffer, _e, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      const source = createReadStream(file.absPath, { highWaterMark: IO_BLOCK });
      if (stagingDir) {
        const target = join(stagingDir, file.path);
        await mkdir(dirname(target), { recursive: true });
        await pipeline(
          source,
          tap,
          createWriteStream(target, { flags: 'wx', mode: file.executable ? 0o755 : 0o644 }),
        );
      } else {
        for await (const chunk of source as AsyncIterable<Buffer>) hash.update(chunk);
      }
      return hash.digest('hex');
    });
    const sizes = new Map(files.map((f) => [f.path, f.size]));
    const root = stagingDir ?? dir;
    return {
      hashes: new Map(files.map((f, i) => [f.path, hashes[i]])),
      sizes,
      remove,
      stagingDir,
      read: async (path, max) => {
        const size = sizes.get(path) ?? 0;
        return size > max ? null : readSmall(join(root, path), size);
      },
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------

/** Reads a small file whole (its size known from the listing; a file that shrank reads short). */
async function readSmall(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await handle.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await handle.close();
  }
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
