/**
 * Start-up configuration errors: core run as a real child (`node packages/core/src/main.ts`, as
 * `npm start` does) with one bad PX_* value at a time stops with exit code 1, prints
 * `error CORE_CONFIG_INVALID: <message>` naming the variable and a hint, and creates nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTmp, repoRoot } from '../../support/core-kit.ts';

const run = promisify(execFile);
let tmp: string;

beforeAll(async () => {
  tmp = await makeTmp('pxc-env-');
  await writeFile(join(tmp, 'a-file'), 'not a folder\n');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The environment of the test run without any PX_* variable, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { HOME: tmp, PATH: process.env.PATH };
  return {
    ...env,
    PX_PORT: '0',
    PX_PLATFORM_KEYS_DIR: join(repoRoot, 'packages/package-format/fixtures/keys'),
    ...extra,
  };
}

async function startCoreWith(
  extra: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(repoRoot, 'packages/core/src/main.ts')], {
      env: envWith(extra),
      timeout: 60_000,
    });
    return { code: 0, ...r };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: Number(e.code ?? -1), stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const cases: Array<{ name: string; env: (dataDir: string) => Record<string, string>; says: RegExp }> = [
  {
    name: 'a master key that is not 32 bytes',
    env: () => ({ PX_MASTER_KEY: 'too-short-key' }),
    says: /PX_MASTER_KEY is invalid: must be 32 bytes/,
  },
  {
    name: 'a port that is not a number',
    env: () => ({ PX_PORT: 'abc' }),
    says: /PX_PORT is invalid: must be a whole number from 0 to 65535 \("abc"\)/,
  },
  { name: 'a port out of range', env: () => ({ PX_PORT: '70000' }), says: /PX_PORT is invalid/ },
  {
    name: 'an unknown log level',
    env: () => ({ PX_LOG_LEVEL: 'loud' }),
    says: /PX_LOG_LEVEL is invalid: must be one of fatal, error, warn, info, debug, trace, silent \("loud"\)/,
  },
  {
    name: 'a data dir under a file',
    env: () => ({ PX_DATA_DIR: join(tmp, 'a-file', 'data') }),
    says: /PX_DATA_DIR is invalid: .*a-file is not a folder/,
  },
  {
    name: 'a retention that is not a number',
    env: () => ({ PX_RETENTION_DAYS: 'abc' }),
    says: /PX_RETENTION_DAYS is invalid: must be a number greater than 0/,
  },
  { name: 'a zero retention', env: () => ({ PX_RETENTION_DAYS: '0' }), says: /PX_RETENTION_DAYS is invalid/ },
  {
    name: 'an awaiting-config TTL that is not a number',
    env: () => ({ PX_AWAITING_CONFIG_TTL_HOURS: 'a day' }),
    says: /PX_AWAITING_CONFIG_TTL_HOURS is invalid/,
  },
  {
    name: 'a dev mode flag that is neither 0 nor 1',
    env: () => ({ PX_PLUGIN_DEV_MODE: 'yes' }),
    says: /PX_PLUGIN_DEV_MODE is invalid: must be 1 \(on\) or 0 \(off\)/,
  },
  {
    name: 'a platform keys folder that does not exist',
    env: () => ({ PX_PLATFORM_KEYS_DIR: join(tmp, 'no-keys') }),
    says: /PX_PLATFORM_KEYS_DIR is invalid: cannot read the folder: ENOENT/,
  },
];

describe('core start-up configuration', () => {
  for (const c of cases) {
    it(`refuses to start with ${c.name}, with a code and a hint, creating nothing`, async () => {
      const dataDir = join(tmp, `data-${cases.indexOf(c)}`);
      const r = await startCoreWith({ PX_DATA_DIR: dataDir, ...c.env(dataDir) });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^error CORE_CONFIG_INVALID: Core configuration /);
      expect(r.stderr).toMatch(c.says);
      expect(r.stderr).toMatch(/\n {2}hint: \S/);
      expect(r.stderr).not.toContain('    at '); // a message, not a stack trace
      expect(r.stdout).not.toContain('listening on');
      expect(existsSync(dataDir)).toBe(false);
    });
  }

  it('never repeats the value of a bad master key', async () => {
    const r = await startCoreWith({
      PX_DATA_DIR: join(tmp, 'data-key'),
      PX_MASTER_KEY: 'my-secret-but-wrong-master-key',
    });
    expect(r.stderr).toContain('CORE_CONFIG_INVALID');
    expect(r.stderr).not.toContain('my-secret-but-wrong-master-key');
  });
});
