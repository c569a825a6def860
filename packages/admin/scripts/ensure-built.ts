/**
 * Builds the Admin (what `npm run build` does) when packages/admin/dist is missing or older than
 * its sources, so that `npm start` and the browser tests always serve the current Admin without
 * a separate build step. Runs Vite in a child process: its build must not share the caller's
 * module graph (core runs in the caller).
 */
import { execFileSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const adminDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(adminDir, '../..');

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, name)));
  return newest;
}

/** Returns true when it had to build. */
export async function ensureAdminBuilt(options: { quiet?: boolean } = {}): Promise<boolean> {
  const built = await stat(join(adminDir, 'dist/index.html')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(
    await newestMtime(join(adminDir, 'src')),
    await newestMtime(join(adminDir, 'index.html')),
    await newestMtime(join(adminDir, 'vite.config.ts')),
    await newestMtime(join(repoRoot, 'packages/protocol/src')),
  );
  if (built && built >= sources) return false;
  const vite = join(repoRoot, 'node_modules/vite/bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', options.quiet ? 'error' : 'warn'], {
    cwd: adminDir,
    stdio: 'inherit',
  });
  return true;
}
