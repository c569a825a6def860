/**
 * Core killed with SIGKILL in the middle of an install (a real core child process, real plugin
 * processes), then restarted on the same data dir: the unfinished install is rolled back
 * (nothing half-installed, quota back, no leftover process) and the previous version serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Api,
  HELLO_ID,
  keysDir,
  listFiles,
  makeTmp,
  packFixtures,
  repoRoot,
} from '../../support/core-kit.ts';
import { until } from '../../support/until.ts';

let tmp: string;
let pkgs: Record<string, string>;
let child: ChildProcess | undefined;

async function startChild(dataDir: string, keys: string): Promise<{ url: string; api: Api; out: string[] }> {
  const proc = spawn(process.execPath, [join(repoRoot, 'packages/core/src/main.ts')], {
    env: {
      ...process.env,
      PX_DATA_DIR: dataDir,
      PX_PORT: '0',
      PX_PLATFORM_KEYS_DIR: keys,
      PX_LOG_LEVEL: 'debug',
      HOME: tmp,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const out: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      out.push(chunk.toString());
      const m = /listening on (http:\/\/\S+)/.exec(buffer);
      if (m) resolve(m[1]);
    });
    proc.stderr!.on('data', (chunk: Buffer) => out.push(chunk.toString()));
    proc.once('exit', (code) => reject(new Error(`core exited with ${code}: ${out.join('')}`)));
  });
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  return { url, api: new Api(url, token), out };
}

/** Plugin processes of this data dir (their permission flags name its folders); with `brokers`, their IPC brokers too. */
async function parentPid(pid: string): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '0';
}

async function pluginProcesses(dataDir: string, brokers = false): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!brokers && /broker-[0-9a-f]+\.cjs/.test(cmdline)) continue;
    // The PID-namespace wrappers (unshare and sh, named px-pidns) die with the plugin; count the plugin.
    if (cmdline.includes('px-pidns')) continue;
    // A sandboxed plugin shows as its bubblewrap (whose bind arguments name the data folder) and
    // bwrap's init, a fork with the same command line: count the sandbox once.
    if (cmdline === (await readFile(`/proc/${await parentPid(pid)}/cmdline`, 'utf8').catch(() => '')))
      continue;
    if (cmdline.includes(dataDir) && !cmdline.includes('main.ts')) pids.push(Number(pid));
  }
  return pids;
}

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  await mkdir(join(tmp, 'keys'));
  await copyFile(join(keysDir, 'test.pub.pem'), join(tmp, 'keys', 'test.pub.pem'));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  await rm(tmp, { recursive: true, force: true });
});

describe('crash recovery', () => {
  it('rolls back an install interrupted by SIGKILL of core when core starts again', async () => {
    const dataDir = join(tmp, 'data');
    const first = await startChild(dataDir, join(tmp, 'keys'));
    const v1 = await first.api.install(pkgs.hello, {
      config: { secrets: { API_KEY: 'crash-secret-value' } },
    });
    expect(v1.body.state).toBe('running');
    const usageBefore = (await first.api.get('/api/tenants/sandbox-dev/usage')).body;
    const filesBefore = await listFiles(join(dataDir, 'tenants'));

    const started = await first.api.install(pkgs['hello-slow-seed'], { wait: false });
    expect(started.status).toBe(202);
    await first.api.waitInstall(started.body.id, (s) => s === 'seeding');
    expect((await pluginProcesses(dataDir)).length).toBe(2);

    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    // The plugin processes and their IPC brokers notice their supervisor is gone and exit.
    await until(() => pluginProcesses(dataDir, true), {
      ok: (p) => p.length === 0,
      message: 'the plugin processes and their brokers to exit',
      timeoutMs: 30_000,
    });

    const second = await startChild(dataDir, join(tmp, 'keys'));
    expect(second.out.join('')).toContain('rolled back 1 unfinished install');
    const install = (await second.api.get(`/api/installs/${started.body.id}`)).body;
    expect(install).toMatchObject({
      state: 'failed',
      error: { code: 'INSTALL_INTERRUPTED', stage: 'seeding' },
    });
    expect(install.error.hint).toContain('Run the install again');

    // The previous version serves again, with its own data only.
    const entry = (await (await fetch(`${second.url}/_p/sandbox-dev/${HELLO_ID}/`)).json()) as {
      version: string;
      customers: number;
      hasApiKey: boolean;
    };
    expect(entry).toMatchObject({ version: '1.0.0', customers: 5 });
    const usageAfter = (await second.api.get('/api/tenants/sandbox-dev/usage')).body;
    expect({ ...usageAfter, installsLastMinute: 0 }).toEqual({ ...usageBefore, installsLastMinute: 0 });
    expect(await listFiles(join(dataDir, 'tenants'))).toEqual(filesBefore);
    expect(await readdir(join(dataDir, 'staging'))).toEqual([]);
    expect(await readdir(join(dataDir, 'uploads'))).toEqual([]);
    expect((await pluginProcesses(dataDir)).length).toBe(1);

    const story = (await second.api.get('/api/audit?tenant=sandbox-dev&limit=500')).body.entries.filter(
      (e: { details: { installId?: string } | null }) => e.details?.installId === started.body.id,
    );
    expect(story.map((e: { action: string }) => e.action)).toContain('plugin.install.rolled_back');
    expect(story.find((e: { action: string }) => e.action === 'plugin.install.rolled_back')).toMatchObject({
      actor: 'system',
      outcome: 'failed',
      details: { code: 'INSTALL_INTERRUPTED', stage: 'seeding' },
    });
    expect((await second.api.get('/api/audit/verify')).body.ok).toBe(true);
    // The secret reached the plugin after the restart, and never any log line of core.
    expect(entry.hasApiKey).toBe(true);
    expect(first.out.join('') + second.out.join('')).not.toContain('crash-secret-value');
  });
});
