/**
 * Core killed with SIGKILL in the middle of an install (a real core child process, real plugin
 * processes), then restarted on the same data dir: the unfinished install is rolled back
 * (nothing half-installed, quota back, no leftover process) and the previous version serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELLO_ID, keysDir, listFiles, makeTmp, packFixtures } from '../../support/core-kit.ts';
import { pluginProcesses, startCoreProcess, type CoreProcess } from '../../support/core-process.ts';
import { until } from '../../support/until.ts';

const BASE_ID = 'com.fixture.core.base';

let tmp: string;
let pkgs: Record<string, string>;
let child: CoreProcess | undefined;

async function startChild(dataDir: string, keys: string): Promise<CoreProcess> {
  child = await startCoreProcess({ dataDir, platformKeysDir: keys, home: tmp });
  return child;
}

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  await mkdir(join(tmp, 'keys'));
  await copyFile(join(keysDir, 'test.pub.pem'), join(tmp, 'keys', 'test.pub.pem'));
});

afterAll(async () => {
  await child?.stop();
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

    await first.kill();
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

  it('marks a plugin whose version no longer starts at core start failed, and says why', async () => {
    await child?.stop();
    const dataDir = join(tmp, 'data-no-start');
    const first = await startChild(dataDir, join(tmp, 'keys'));
    const installed = await first.api.install(pkgs.base);
    expect(installed.body.state).toBe('running');
    await first.stop();
    // The only version (no stable one to fall back to) now exits at once when started.
    const versions = join(dataDir, 'tenants/sandbox-dev/plugins', BASE_ID, 'versions');
    const [folder] = await readdir(versions);
    await writeFile(join(versions, folder, 'dist/server.js'), 'process.exit(3);\n');

    const second = await startChild(dataDir, join(tmp, 'keys'));
    const plugin = (await second.api.get(`/api/tenants/sandbox-dev/plugins/${BASE_ID}`)).body;
    expect(plugin.status).toBe('failed');
    // Before, the plugin was failed with no reason at all: the API showed no `failure`.
    expect(plugin.failure).toMatchObject({ stage: 'start', installId: installed.body.id });
    expect(plugin.failure.code).toMatch(/^[A-Z_]+$/);
    expect(plugin.failure.message.length).toBeGreaterThan(0);
    expect(plugin.failure.hint.length).toBeGreaterThan(0);
    // Audited, with the same reason.
    const entries = (await second.api.get('/api/audit?action=plugin.failed&limit=10')).body.entries;
    expect(entries).toEqual([
      expect.objectContaining({
        actor: 'system',
        target: BASE_ID,
        outcome: 'failed',
        details: expect.objectContaining({ code: plugin.failure.code, stage: 'start' }),
      }),
    ]);
  });
});
