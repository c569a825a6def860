/**
 * Bundles `runner/runner.ts` and what it imports (the SDK) into ONE self-contained file, so a
 * sandboxed process needs read access to that single file rather than to the repository. Built
 * with esbuild once per supervisor process; the file name carries the content hash, so concurrent
 * supervisors sharing a folder never see a half-written runner (write to a temp name, rename).
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const sources = { runner: join(here, 'runner', 'runner.ts'), broker: join(here, 'broker', 'broker.ts') };
const builds = new Map<string, Promise<string>>();

export function runnerBundle(outDir: string): Promise<string> {
  return bundle(outDir, 'runner');
}

/** The IPC broker (broker/broker.ts with the rpc gate), bundled the same way for a fast start. */
export function brokerBundle(outDir: string): Promise<string> {
  return bundle(outDir, 'broker');
}

function bundle(outDir: string, name: keyof typeof sources): Promise<string> {
  const key = `${outDir}\0${name}`;
  let pending = builds.get(key);
  if (!pending) {
    pending = buildBundle(outDir, name);
    pending.catch(() => builds.delete(key));
    builds.set(key, pending);
  }
  return pending;
}

async function buildBundle(outDir: string, name: keyof typeof sources): Promise<string> {
  const result = await build({
    entryPoints: [sources[name]],
    bundle: true,
    platform: 'node',
    // CommonJS on purpose: an ESM main module costs ~30 ms more start-up than a CommonJS one on
    // Node 26 (measured); the plugin's own ESM entry is still loaded with import().
    format: 'cjs',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  await mkdir(outDir, { recursive: true, mode: 0o755 });
  const file = join(outDir, `${name}-${hash}.cjs`);
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, code, { mode: 0o444 });
    await rename(tmp, file);
  }
  return file;
}
