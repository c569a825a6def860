/**
 * `px-plugin install` input that is wrong before anything reaches core, and a core that is not
 * there: each through the real CLI (the launcher, a real process, HOME in a temp folder), with a
 * stable code, the file or URL named, and a hint. Nothing is uploaded (no core listens at all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { LAUNCHER, finish, shellEnv, type RunResult } from './run-cli.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'install-config');
// A loopback port that was free a moment ago (fetch refuses "bad ports" such as 9 before connecting).
let NOWHERE: string;
let home: string;
let pkg: string;

function pxPlugin(args: string[], env: Record<string, string> = {}): RunResult {
  return finish(
    spawnSync(process.execPath, [LAUNCHER, ...args], {
      cwd: home,
      env: { ...shellEnv(home), PX_API_URL: NOWHERE, PX_TOKEN: 'pxt_not-a-real-token', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    }),
  );
}

beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  NOWHERE = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));
  home = await mkdtemp(join(tmpdir(), 'px-cli-input-'));
  // Only stat-ed before the config is read; these runs never get as far as the upload.
  pkg = join(home, 'hello.pxp');
  await writeFile(pkg, 'not read');
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('px-plugin install --config', () => {
  const cases: Array<[file: string, says: RegExp]> = [
    ['not-yaml.yaml', /not valid YAML or JSON: /],
    ['bad.json', /not valid YAML or JSON: /],
    ['scalar.yaml', /the top level is a string \("just a string"\), not an object/],
    ['list.yaml', /the top level is a list, not an object/],
    ['unknown-key.yaml', /unknown key secret \(allowed: env, secrets, logLevel\)/],
    ['bad-log-level.yaml', /logLevel: .*\(one of trace, debug, info, warn, error, fatal\)/],
    ['env-not-scalar.yaml', /env\.GREETING: /],
  ];
  for (const [file, says] of cases) {
    it(`refuses ${file} with CONFIG_INVALID naming the file and the expected shape`, () => {
      const r = pxPlugin([
        'install',
        pkg,
        '--tenant',
        'sandbox-dev',
        '--config',
        join(fixtures, file),
        '--json',
      ]);
      expect(r.code, r.output).toBe(2);
      const body = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
      expect(body.code).toBe('CONFIG_INVALID');
      expect(body.message).toContain(`--config file ${join(fixtures, file)} is invalid: `);
      expect(body.message).toMatch(says);
      expect(body.hint).toContain('env');
      expect(body.hint).toContain('secrets');
      expect(r.output).not.toContain('INTERNAL');
    });
  }

  it('refuses a --log-level that is not a level, listing the allowed ones', () => {
    const r = pxPlugin(['install', pkg, '--tenant', 'sandbox-dev', '--log-level', 'loud']);
    expect(r.code, r.output).toBe(2);
    expect(r.stderr).toContain('USAGE');
    expect(r.stderr).toContain('--log-level "loud" is not a log level');
    expect(r.stderr).toContain('trace, debug, info, warn, error, fatal');
  });
});

describe('px-plugin against a core that is not running', () => {
  it('reports CORE_UNREACHABLE with the URL and a hint, not INTERNAL', () => {
    const r = pxPlugin(['install', pkg, '--tenant', 'sandbox-dev']);
    expect(r.code, r.output).toBe(3);
    expect(r.stderr).toContain(`CORE_UNREACHABLE`);
    expect(r.stderr).toContain(`Cannot reach PowerX core at ${NOWHERE}`);
    expect(r.stderr).toMatch(/Is core running/);
    expect(r.stderr).toContain('PX_API_URL');
    const status = pxPlugin(['list', '--tenant', 'sandbox-dev', '--json']);
    expect(status.code, status.output).toBe(3);
    expect(JSON.parse(status.stdout)).toMatchObject({
      ok: false,
      error: { code: 'CORE_UNREACHABLE', details: { url: NOWHERE, detail: 'ECONNREFUSED' } },
    });
  });
});
