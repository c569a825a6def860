/**
 * Where the CLI finds what it brings along (template, SDK, launcher) and where it keeps the
 * developer's keys. Everything is resolved from this file's real location, so the CLI works
 * the same from the repo root, through `npx`, and from a plugin project anywhere on disk.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/cli */
export const CLI_ROOT = dirname(dirname(realpathSync(fileURLToPath(import.meta.url))));
export const LAUNCHER = join(CLI_ROOT, 'bin', 'px-plugin.js');
export const TEMPLATE_DIR = join(CLI_ROOT, 'templates', 'plugin');

const requireFromCli = createRequire(join(CLI_ROOT, 'package.json'));

/** The folder of a workspace package (e.g. @powerx/plugin-sdk) as the CLI resolves it, real path. */
export function packageRoot(name: string): string {
  // `exports` hides package.json, so resolve the entry and walk up to the folder that has one.
  let dir = dirname(realpathSync(requireFromCli.resolve(name)));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package folder of ${name}`);
    dir = parent;
  }
  return dir;
}

/** ~/.px-plugin/keys (HOME is read at call time so tests can point it at a temp folder). */
export function keysDir(): string {
  return join(process.env.HOME || homedir(), '.px-plugin', 'keys');
}

export function defaultKeyPrefix(): string {
  return join(keysDir(), 'default');
}
