/**
 * The px-plugin commands that talk to core, run as real CLI processes against a
 * real core, with HOME in a temp folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  HELLO_ID,
  keysDir,
  makeTmp,
  packFixtures,
  repoRoot,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';

const run = promisify(execFile);
let core: TestCore;
let tmp: string;
let pkgs: Record<string, string>;

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(repoRoot, 'packages/cli/src/main.ts'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: tmp, NO_COLOR: '1', ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore();
});
afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('px-plugin against core', () => {
  it('logs in with a password and stores the token with mode 0600', async () => {
    await core.api.user('erin', ['plugin:dev'], ['sandbox-dev']);
    const r = await cli(['login', '--url', core.url, '-u', 'erin', '-p', 'password-123']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('signed in');
    const file = join(tmp, '.px-plugin', 'credentials.json');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      url: core.url,
      token: expect.stringMatching(/^pxt_/),
    });
    const bad = await cli(['login', '--url', core.url, '-u', 'erin', '-p', 'wrong-password']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('AUTH_INVALID');
  });

  it('installs the hello plugin, showing the stages and the entry point', async () => {
    const r = await cli([
      'install',
      pkgs.hello,
      '--tenant',
      'sandbox-dev',
      '--env',
      'GREETING=from the cli',
      '--secret',
      'API_KEY=cli-secret',
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const stage of ['validating', 'provisioning', 'health_check', 'seeding'])
      expect(r.stdout).toContain(stage);
    const url = /entry point\s+(\S+)/.exec(r.stdout)![1];
    expect(url).toBe(core.entryUrl('sandbox-dev', HELLO_ID));
    expect(await (await fetch(url)).json()).toMatchObject({ greeting: 'from the cli', hasApiKey: true });
    expect(r.stdout).not.toContain('cli-secret');
  });

  it('prints JSON with --json and honours PX_API_URL / PX_TOKEN', async () => {
    const env = { PX_API_URL: core.url, PX_TOKEN: core.adminToken };
    const list = await cli(['list', '--tenant', 'sandbox-dev', '--json'], env);
    expect(JSON.parse(list.stdout).plugins[0]).toMatchObject({
      pluginId: HELLO_ID,
      version: '1.0.0',
      status: 'running',
    });
    const status = await cli(['status', HELLO_ID, '--tenant', 'sandbox-dev', '--json'], env);
    expect(JSON.parse(status.stdout).installs[0]).toMatchObject({ kind: 'install', state: 'running' });
  });

  it('reports a failed install with its code, stage and hint, and exits non-zero', async () => {
    const r = await cli(['install', pkgs['hello-unhealthy'], '--tenant', 'sandbox-dev']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HEALTH_TIMEOUT');
    expect(r.stderr).toContain('stage health_check');
    expect(r.stderr).toContain('hint:');
  });

  it('fails off a TTY when required wizard values are missing, naming them', async () => {
    const r = await cli(['install', pkgs.wizard, '--tenant', 'sandbox-dev', '--json']);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'CONFIG_REQUIRED_MISSING',
      message: expect.stringContaining('RETRIES, TOKEN'),
    });
  });

  it('upgrades, rolls back, reads logs and audit, and uninstalls', async () => {
    expect((await cli(['install', pkgs['hello-v2'], '--tenant', 'sandbox-dev'])).code).toBe(0);
    const rollback = await cli(['rollback', HELLO_ID, '--tenant', 'sandbox-dev']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain('back on 1.0.0');
    await fetch(core.entryUrl('sandbox-dev', HELLO_ID));
    let logs = '';
    for (let i = 0; i < 40 && !logs.includes('greeted'); i++) {
      logs = (await cli(['logs', HELLO_ID, '--tenant', 'sandbox-dev'])).stdout;
      if (!logs.includes('greeted')) await new Promise((res) => setTimeout(res, 100));
    }
    expect(logs).toContain('greeted');
    const audit = await cli(['audit', '--tenant', 'sandbox-dev', '--action', 'plugin.rollback*', '--json']);
    expect(JSON.parse(audit.stdout).entries.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['plugin.rollback', 'plugin.rollback.completed']),
    );
    const verify = await cli(['audit', '--verify'], { PX_TOKEN: core.adminToken });
    expect(verify.stdout).toContain('audit chain intact');
    const un = await cli(['uninstall', HELLO_ID, '--tenant', 'sandbox-dev']);
    expect(un.code, un.stderr).toBe(0);
    expect((await cli(['list', '--tenant', 'sandbox-dev'])).stdout).toContain('no plugins');
  });

  it('adds, lists and removes a signing key', async () => {
    const add = await cli(['keys', 'add', join(keysDir, 'untrusted.pub.pem'), '--json']);
    expect(add.code, add.stderr).toBe(0);
    const keyId = JSON.parse(add.stdout).keyId;
    expect((await cli(['keys', 'list'])).stdout).toContain(keyId);
    expect((await cli(['keys', 'remove', keyId])).code).toBe(0);
    expect((await cli(['keys', 'list'])).stdout).toContain('no keys registered');
  });
});

describe('px-plugin install on a terminal', () => {
  it('asks the missing wizard values (secrets without echo) and finishes the install', async () => {
    // `script` gives the CLI a real pseudo-terminal; answers are typed once each prompt shows.
    const { spawn } = await import('node:child_process');
    const command = [
      process.execPath,
      join(repoRoot, 'packages/cli/src/main.ts'),
      'install',
      pkgs.wizard,
      '--tenant',
      'sandbox-dev',
      '--env',
      'MODE=fast',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: tmp,
        NO_COLOR: '1',
        PX_API_URL: core.url,
        PX_TOKEN: core.adminToken,
        TERM: 'dumb',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const answers: Array<[RegExp, string]> = [
      [/RETRIES \(number\)[^:]*: $/, '5'],
      [/TOKEN \(secret, not shown\)[^:]*: $/, 'typed-secret-value'],
    ];
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const next = answers[0];
      if (next && next[0].test(output.trimEnd() + ' ')) {
        answers.shift();
        child.stdin.write(`${next[1]}\r`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toContain('the plugin needs: RETRIES, TOKEN');
    expect(output).not.toContain('typed-secret-value');
    const url = /entry point\s+(\S+)/.exec(output)![1];
    expect(await (await fetch(url)).json()).toMatchObject({ retries: 5, mode: 'fast', tokenLength: 18 });
  });
});
