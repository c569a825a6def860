/**
 * Runs px-plugin the way a developer does: as a real process, through `npx px-plugin` or the
 * launcher, with HOME pointed at a temp folder and an environment that looks like a plain shell
 * (no npm script variables, the repository's node_modules/.bin not on PATH, so `npx` and the
 * launcher start on the system Node and must find Node 26 themselves).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const LAUNCHER = join(REPO_ROOT, 'packages/cli/bin/px-plugin.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for "prints its code" assertions. */
  output: string;
}

export function shellEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // npm_* (e.g. npm_config_local_prefix) would make npx think it runs inside the repository.
    if (/^npm_/i.test(name) || name === 'INIT_CWD' || name === 'NODE_OPTIONS' || name === 'NODE') continue;
    env[name] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => !dir.includes('node_modules/.bin') && !dir.includes('node_modules/node/bin'))
    .join(':');
  env.HOME = home;
  env.NO_COLOR = '1';
  env.npm_config_offline = 'true'; // the done-when: no network
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  return env;
}

/** `npx px-plugin …` in cwd. */
export function npx(args: string[], opts: { cwd: string; home: string }): RunResult {
  return finish(
    spawnSync('npx', ['px-plugin', ...args], {
      cwd: opts.cwd,
      env: shellEnv(opts.home),
      encoding: 'utf8',
      timeout: 120_000,
    }),
  );
}

/** The launcher run by this test's Node (26): faster than npx for the many fixture runs. */
export function launcher(args: string[], opts: { cwd: string; home: string }): RunResult {
  return finish(
    spawnSync(process.execPath, [LAUNCHER, ...args], {
      cwd: opts.cwd,
      env: shellEnv(opts.home),
      encoding: 'utf8',
      timeout: 120_000,
    }),
  );
}

/** Any other program (tar, sha256sum, openssl). */
export function run(cmd: string, args: string[], opts: { cwd: string }): RunResult {
  return finish(spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', timeout: 120_000 }));
}

export function finish(r: ReturnType<typeof spawnSync>): RunResult {
  if (r.error) throw r.error;
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  return { code: r.status, stdout, stderr, output: `${stdout}\n${stderr}` };
}
