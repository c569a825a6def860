#!/usr/bin/env node
// The px-plugin launcher. Plain JavaScript on purpose: it must start on whatever Node the
// developer's shell finds first (Node 18 or later), including `npx px-plugin` in a plugin
// project outside this repository where the system Node is older. The CLI itself is TypeScript
// run by Node 26 (type stripping), so on an older Node this file finds the repository's Node 26
// binary (the `node` npm package, a dev dependency of the repo) and runs itself again with it.
import { realpathSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const REQUIRED_MAJOR = 26;
const self = realpathSync(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= REQUIRED_MAJOR) {
  enableCompileCache();
  await import('../src/main.ts');
} else {
  // Loaded only here (and tolerated missing: a launcher copied on its own still explains itself).
  const helper = await import('./node-reexec.js').catch(() => undefined);
  const nodeBin = helper?.findRepoNode(self);
  if (!nodeBin || process.env.PX_PLUGIN_LAUNCHER_REEXEC === '1') {
    process.stderr.write(
      `✗ px-plugin needs Node.js ${REQUIRED_MAJOR} or later (this is ${process.version}) and could not find the repository's Node ${REQUIRED_MAJOR}.\n` +
        `hint: run \`npm install\` in the PowerX repository (it installs Node ${REQUIRED_MAJOR} as the \`node\` dev dependency), or put Node ${REQUIRED_MAJOR} first on PATH.\n`,
    );
    process.exit(3);
  }
  helper.reexec(nodeBin, self, {
    guardEnv: 'PX_PLUGIN_LAUNCHER_REEXEC',
    onSpawnError: (error) => `✗ could not start ${nodeBin}: ${error.message}\n`,
  });
}

/**
 * Node's on-disk compile cache roughly halves the CLI's start-up (type stripping and compiling
 * ~100 modules on every run otherwise). Kept under ~/.px-plugin/cache; NODE_COMPILE_CACHE picks
 * another folder and NODE_DISABLE_COMPILE_CACHE=1 turns it off, as for any Node program.
 */
function enableCompileCache() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || typeof module.enableCompileCache !== 'function') return;
  try {
    module.enableCompileCache(
      process.env.NODE_COMPILE_CACHE ||
        join(process.env.HOME || homedir(), '.px-plugin', 'cache', 'node-compile-cache'),
    );
  } catch {
    // A read-only home or similar: run without the cache.
  }
}
