/**
 * `px-plugin build` as a function (also used by `validate <project dir>` and, later, by
 * `px-plugin dev`): read the manifest, bundle, stage manifest.json + dist + admin in a temp
 * folder, pack and sign `<id>-<version>.pxp`. Each step is timed. A failure leaves no package,
 * no staging folder and no partial file behind; dist/ is written only after bundling succeeded.
 */
import { existsSync } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { packDirectory, readManifestSource } from '@powerx/package-format';
import type { Manifest } from '@powerx/protocol';
import { findSigningKey, type SigningKey } from '../keys/signing-key.ts';
import { bundle, bundleEntries } from './bundle.ts';

export interface BuildProjectOptions {
  /** A .pxp file path, or a folder to write `<id>-<version>.pxp` into. Default: the project folder. */
  out?: string;
  /** Private key file; see keys/signing-key.ts for the fallbacks. */
  key?: string;
  /** false = do not sign even if a key is configured (--no-sign). */
  sign?: boolean;
  /** false = bundle into the package only, leave the project's dist/ alone (validate <project>). */
  writeDist?: boolean;
}

export interface BuildStep {
  name: 'manifest' | 'key' | 'bundle' | 'stage' | 'pack';
  ms: number;
}

export interface BuildResult {
  projectDir: string;
  manifest: Manifest;
  packagePath: string;
  /** Package size in bytes. */
  size: number;
  sha256: string;
  /** Files in the package (before _pxp/), relative, with their sizes. */
  files: Array<{ path: string; size: number }>;
  bundled: Array<{ source: string; output: string }>;
  signer?: { keyId: string; keyPath: string; source: SigningKey['source'] };
  /** Why the package is unsigned, when it is. */
  unsigned?: 'no-sign' | 'no-key';
  steps: BuildStep[];
  totalMs: number;
}

export async function buildProject(
  projectDir: string,
  options: BuildProjectOptions = {},
): Promise<BuildResult> {
  const dir = resolve(projectDir);
  const started = performance.now();
  const steps: BuildStep[] = [];
  const step = async <T>(name: BuildStep['name'], fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    steps.push({ name, ms: performance.now() - t0 });
    return value;
  };

  const manifest = await step('manifest', () => readManifestSource(dir));
  const key = await step('key', async () =>
    options.sign === false ? undefined : findSigningKey({ key: options.key }),
  );
  const entries = bundleEntries(manifest, dir);
  const outputs = await step('bundle', async () => {
    const files = await bundle(dir, entries);
    for (const file of options.writeDist === false ? [] : files) {
      await mkdir(dirname(join(dir, file.path)), { recursive: true });
      await writeFile(join(dir, file.path), file.contents);
    }
    return files;
  });

  const packagePath = outputPath(dir, manifest, options.out);
  const staging = await mkdtemp(join(tmpdir(), 'px-build-'));
  try {
    const files = await step('stage', () => stage(dir, staging, manifest, outputs));
    // packDirectory writes a temp file and renames it into place: never a half-written package.
    const packed = await step('pack', () =>
      packDirectory(staging, packagePath, key ? { privateKeyPem: key.privateKeyPem } : {}),
    );
    return {
      projectDir: dir,
      manifest,
      packagePath: packed.file,
      size: packed.bytes,
      sha256: packed.sha256,
      files,
      bundled: entries.map(({ source, output }) => ({ source, output })),
      ...(key
        ? { signer: { keyId: key.keyId, keyPath: key.path, source: key.source } }
        : { unsigned: options.sign === false ? 'no-sign' : 'no-key' }),
      steps,
      totalMs: performance.now() - started,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Default `<project>/<id>-<version>.pxp`; `--out x.pxp` is a file, any other --out a folder. */
export function outputPath(dir: string, manifest: Manifest, out?: string): string {
  const name = `${manifest.id}-${manifest.version}.pxp`;
  if (!out) return join(dir, name);
  const abs = resolve(out);
  return abs.endsWith('.pxp') ? abs : join(abs, name);
}

/** Copies exactly what goes into the package; returns the file list. */
async function stage(
  dir: string,
  staging: string,
  manifest: Manifest,
  outputs: Array<{ path: string; contents: Uint8Array }>,
) {
  await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of outputs) {
    await mkdir(dirname(join(staging, file.path)), { recursive: true });
    await writeFile(join(staging, file.path), file.contents);
  }
  // runtime.kind "process": the entry is shipped as built by the developer, with the rest of its folder.
  if (manifest.runtime.kind === 'process') {
    const entryDir = manifest.runtime.entry.includes('/')
      ? manifest.runtime.entry.split('/')[0]
      : manifest.runtime.entry;
    if (existsSync(join(dir, entryDir)))
      await cp(join(dir, entryDir), join(staging, entryDir), { recursive: true, verbatimSymlinks: true });
  }
  const adminDir = manifest.admin?.staticDir?.replace(/^\.\//, '').replace(/\/+$/, '');
  if (adminDir && existsSync(join(dir, adminDir))) {
    await cp(join(dir, adminDir), join(staging, adminDir), { recursive: true, verbatimSymlinks: true });
  }
  return listFiles(staging);
}

async function listFiles(root: string, prefix = ''): Promise<Array<{ path: string; size: number }>> {
  const files: Array<{ path: string; size: number }> = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(root, rel)));
    else files.push({ path: rel, size: (await lstat(join(root, rel))).size });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
