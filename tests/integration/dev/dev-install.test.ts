/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * Dev installs and reloads through the REST API of a real dev-mode core: blue/green
 * reloads, every fault of the issue, sessions, access rules, metrics and events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import {
  captureEvents,
  DEV_ID,
  GATE_TIMEOUT_MS,
  devInstall,
  hello,
  newSandbox,
  pluginProcesses,
  project,
  setMessage,
  startDevCore,
  stopTestCore,
  until,
  type TestCore,
} from './dev-kit.ts';

// Path mode may read from the temp folder only (where every test project lives).
process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '1500';

let core: TestCore;
beforeAll(async () => {
  core = await startDevCore();
});
afterAll(async () => {
  await stopTestCore(core);
});

describe('dev install and reload', () => {
  it('installs a build from a folder, reloads it with new code, and carries config and secrets over', async () => {
    const tenant = await newSandbox(core.api, 'dev-reload');
    const dir = await project(core, 'dev-hello');
    const first = await devInstall(core.api, { tenant, path: dir });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      result: 'running',
      pluginId: DEV_ID,
      version: '0.1.0',
      serving: { version: '0.1.0' },
    });
    expect(first.body.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const k of ['pushMs', 'validateMs', 'startMs', 'healthMs', 'switchMs', 'totalMs'])
      expect(typeof first.body.timings[k]).toBe('number');
    expect(JSON.parse((await hello(core, tenant)).text)).toMatchObject({
      message: 'one',
      greeting: 'hello',
      apiKeySet: false,
    });

    // Set a secret and an env value once (reconfigure); dev reloads keep them.
    const conf = await core.api.put(`/api/tenants/${tenant}/plugins/${DEV_ID}/config?wait=true`, {
      env: { GREETING: 'servus' },
      secrets: { API_KEY: 'k-123' },
    });
    expect(conf.body.state).toBe('running');

    await setMessage(dir, 'two');
    const second = await devInstall(core.api, { tenant, path: dir });
    expect(second.body.result).toBe('running');
    expect(second.body.contentSha256).not.toBe(first.body.contentSha256);
    expect(JSON.parse((await hello(core, tenant)).text)).toEqual({
      message: 'two',
      greeting: 'servus',
      apiKeySet: true,
    });

    // The same build again is recognised by its content hash: nothing restarts.
    const same = await devInstall(core.api, { tenant, path: dir });
    expect(same.body).toMatchObject({ result: 'unchanged', contentSha256: second.body.contentSha256 });
    await setMessage(dir, 'three');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');

    // The code runs from core's own copy: deleting the developer's folder changes nothing.
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('three');

    // Unsigned, and the audit says why it was accepted.
    const audit = await core.api.get(`/api/audit?tenant=${tenant}&action=plugin.package.unsigned_accepted`);
    const entries = (audit.body.entries ?? []).filter(
      (e: any) => e.action === 'plugin.package.unsigned_accepted',
    );
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(entries[0].details)).toContain('dev install');
  });

  it('runs each build from a content-addressed version folder; going back to an earlier build reuses it', async () => {
    const tenant = await newSandbox(core.api, 'dev-content');
    const dir = await project(core, 'dev-hello');
    const versions = join(core.dataDir, 'tenants', tenant, 'plugins', DEV_ID, 'versions');
    const a = (await devInstall(core.api, { tenant, path: dir })).body;
    await setMessage(dir, 'b');
    const b = (await devInstall(core.api, { tenant, path: dir })).body;
    expect((await readdir(versions)).sort()).toEqual(
      [`c-${a.contentSha256.slice(0, 32)}`, `c-${b.contentSha256.slice(0, 32)}`].sort(),
    );
    await setMessage(dir, 'one');
    const again = (await devInstall(core.api, { tenant, path: dir })).body;
    expect(again).toMatchObject({ result: 'running', contentSha256: a.contentSha256 });
    expect(again.installId).not.toBe(a.installId);
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('one');
    // A failed reload next to it removes only its own folder, never the serving or last stable one.
    expect(
      (await devInstall(core.api, { tenant, path: await project(core, 'dev-never-healthy') })).body.result,
    ).toBe('failed');
    expect((await readdir(versions)).sort()).toEqual(
      [`c-${a.contentSha256.slice(0, 32)}`, `c-${b.contentSha256.slice(0, 32)}`].sort(),
    );
    await setMessage(dir, 'b');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('b');
  });

  it('copies what the manifest references: an entry outside dist/ and a seed hook at the project root', async () => {
    const tenant = await newSandbox(core.api, 'dev-entry-out');
    const r = (await devInstall(core.api, { tenant, path: await project(core, 'dev-entry-outside-dist') }))
      .body;
    expect(r.result).toBe('running');
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('from build/');
    const folder = join(
      core.dataDir,
      'tenants',
      tenant,
      'plugins',
      DEV_ID,
      'versions',
      `c-${r.contentSha256.slice(0, 32)}`,
    );
    expect((await readdir(folder)).sort()).toEqual(['_pxp', 'build', 'dist', 'manifest.json', 'seed.js']);
  });

  it('takes an uploaded build (multipart) when core cannot read the developer folder', async () => {
    const tenant = await newSandbox(core.api, 'dev-upload');
    const dir = await project(core, 'dev-hello');
    await setMessage(dir, 'uploaded');
    const pxp = (await packDirectory(dir, join(core.tmp, 'upload.pxp'))).file;
    const form = new FormData();
    form.append('tenant', tenant);
    form.append('package', new Blob([await (await import('node:fs/promises')).readFile(pxp)]), 'build.pxp');
    const r = await fetch(`${core.url}/api/plugins/dev/install`, {
      method: 'POST',
      headers: { authorization: `Bearer ${core.adminToken}` },
      body: form,
    });
    const body = (await r.json()) as any;
    expect(r.status).toBe(200);
    expect(body.result).toBe('running');
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('uploaded');
  });

  it('stops and removes a dev install with DELETE, keeping the data unless asked', async () => {
    const tenant = await newSandbox(core.api, 'dev-delete');
    const dir = await project(core, 'dev-hello');
    const pluginRoot = join(core.dataDir, 'tenants', tenant, 'plugins', DEV_ID);
    const processesBefore = await pluginProcesses(core);
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    expect(await pluginProcesses(core)).toBe(processesBefore + 1);
    const keep = await core.api.req('DELETE', '/api/plugins/dev/install', { tenant, pluginId: DEV_ID });
    expect(keep.status).toBe(204);
    expect((await hello(core, tenant)).status).toBe(404);
    expect(await readdir(pluginRoot)).toEqual(['data']);

    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    const del = await core.api.req('DELETE', '/api/plugins/dev/install', {
      tenant,
      pluginId: DEV_ID,
      removeData: true,
    });
    expect(del.status).toBe(204);
    expect((await core.api.get(`/api/tenants/${tenant}/plugins/${DEV_ID}`)).status).toBe(404);
    expect(await readdir(pluginRoot).catch(() => 'gone')).toBe('gone');
    // Its process is gone too: back to the count before the first install.
    await until(() => pluginProcesses(core), {
      ok: (n) => n === processesBefore,
      message: 'the plugin process to exit',
    });
    const again = await core.api.req('DELETE', '/api/plugins/dev/install', { tenant, pluginId: DEV_ID });
    expect(again.body.code).toBe('PLUGIN_NOT_FOUND');
    const audit = await core.api.get(`/api/audit?tenant=${tenant}&limit=200`);
    expect(audit.body.entries.filter((e: any) => e.action === 'plugin.dev.uninstall').length).toBe(2);
  });
});

describe('faults: the last stable version keeps serving', () => {
  it('a plugin that throws at start: reload fails at starting, old version answers, rollback event and log line', async () => {
    const tenant = await newSandbox(core.api, 'dev-throws');
    const events = captureEvents(core);
    expect((await devInstall(core.api, { tenant, path: await project(core, 'dev-hello') })).body.result).toBe(
      'running',
    );
    const bad = await devInstall(core.api, { tenant, path: await project(core, 'dev-throws-at-start') });
    expect(bad.body).toMatchObject({
      result: 'failed',
      version: '0.2.0',
      error: { code: 'START_FAILED', stage: 'starting' },
      serving: { version: '0.1.0' },
    });
    expect(bad.body.error.message).toContain('boom at start');
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('one');
    const rollback = await until(
      () => events.find((e) => e.type === 'plugin.dev.rollback' && (e.payload as any).tenant === tenant),
      { ok: (e) => !!e, message: 'rollback event' },
    );
    expect(rollback!.payload).toMatchObject({ code: 'START_FAILED', serving: { version: '0.1.0' } });
    const logs = await core.api.get(`/api/tenants/${tenant}/plugins/${DEV_ID}/logs?limit=200`);
    expect(
      logs.body.lines.some(
        (l: any) =>
          l.level === 'error' &&
          /rolled back; version 0\.1\.0 keeps serving/.test(l.msg) &&
          l.msg.includes('START_FAILED'),
      ),
    ).toBe(true);
  });

  it('a plugin that never becomes healthy: the health gate fails and the old version keeps answering', async () => {
    const tenant = await newSandbox(core.api, 'dev-unhealthy');
    expect((await devInstall(core.api, { tenant, path: await project(core, 'dev-hello') })).body.result).toBe(
      'running',
    );
    const bad = await devInstall(core.api, {
      tenant,
      path: await project(core, 'dev-never-healthy', GATE_TIMEOUT_MS),
    });
    expect(bad.body).toMatchObject({
      result: 'failed',
      error: { code: 'HEALTH_TIMEOUT', stage: 'health_check' },
      serving: { version: '0.1.0' },
    });
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('one');
    expect(await pluginProcesses(core)).toBeGreaterThan(0);
  });

  it('a plugin that crashes on its first request after the switch: the last stable version serves again', async () => {
    const tenant = await newSandbox(core.api, 'dev-crash');
    const events = captureEvents(core);
    const coreRollbacks = captureEvents(core, 'plugin.install.auto_rollback');
    expect((await devInstall(core.api, { tenant, path: await project(core, 'dev-hello') })).body.result).toBe(
      'running',
    );
    const next = await devInstall(core.api, { tenant, path: await project(core, 'dev-crash-on-request') });
    expect(next.body).toMatchObject({ result: 'running', version: '0.4.0' });
    await hello(core, tenant); // the request that kills it
    const rollback = await until(
      () => events.find((e) => e.type === 'plugin.dev.rollback' && (e.payload as any).tenant === tenant),
      { ok: (e) => !!e, message: 'rollback after crash' },
    );
    expect(rollback!.payload).toMatchObject({
      code: 'DEV_CRASHED_AFTER_SWITCH',
      stage: 'after_switch',
      restored: true,
      serving: { version: '0.1.0' },
    });
    await until(() => hello(core, tenant), {
      ok: (r) => r.status === 200 && r.text.includes('"one"'),
      message: 'old version answering again',
    });
    const plugin = await core.api.get(`/api/tenants/${tenant}/plugins/${DEV_ID}`);
    expect(plugin.body).toMatchObject({ version: '0.1.0', status: 'running' });
    // The dev grace watch handled it: core's own automatic rollback did not roll back the same failure again.
    const rollbacks = (
      await core.api.get(`/api/installs?tenant=${tenant}&plugin=${DEV_ID}`)
    ).body.installs.filter((i: { kind: string }) => i.kind === 'rollback');
    expect(rollbacks).toHaveLength(1);
    expect(coreRollbacks.filter((e) => (e.payload as { tenant: string }).tenant === tenant)).toEqual([]);
  });

  it('ten saves within a second: the last one wins and no processes pile up', async () => {
    const tenant = await newSandbox(core.api, 'dev-rapid');
    const dir = await project(core, 'dev-hello');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    const before = await pluginProcesses(core);
    const answers = [];
    for (let i = 1; i <= 10; i++) {
      await setMessage(dir, `save-${i}`);
      answers.push(devInstall(core.api, { tenant, path: dir })); // each request snapshots the folder as it is now
      await new Promise((r) => setTimeout(r, 60));
    }
    const results = (await Promise.all(answers)).map((r) => r.body.result);
    expect(['running', 'unchanged']).toContain(results.at(-1));
    expect(results.filter((r) => r === 'superseded').length).toBeGreaterThan(0);
    // (unchanged: a request that read the folder after the next save already had its build serving)
    expect(results.filter((r) => !['running', 'superseded', 'unchanged'].includes(r))).toEqual([]);
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('save-10');
    // Old instances are drained and stopped: back to one process for this plugin.
    await until(() => pluginProcesses(core), { ok: (n) => n <= before, message: 'old instances stopped' });
  });

  // 20 reloads under 4 clients take 10 s alone and three times that on a loaded 2-core machine.
  it('answers every request of a steady stream during 20 reloads', { timeout: 120_000 }, async () => {
    const tenant = await newSandbox(core.api, 'dev-steady');
    const dir = await project(core, 'dev-hello');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    let stop = false;
    const failures: string[] = [];
    let served = 0;
    const seen = new Set<string>();
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const r = await hello(core, tenant);
          if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
          else seen.add(JSON.parse(r.text).message);
          served++;
        } catch (error) {
          failures.push(String(error));
        }
      }
    });
    let answeredByLast: boolean | undefined;
    try {
      for (let i = 1; i <= 20; i++) {
        await setMessage(dir, `reload-${i}`);
        const r = await devInstall(core.api, { tenant, path: dir });
        expect(r.body.result).toBe('running');
      }
      // The last reload is switched in: the clients' next requests reach it. Those in flight when it
      // returned were sent to the one before, and take longer than any fixed pause on a loaded machine.
      answeredByLast = await until(() => seen.has('reload-20'), {
        ok: (has) => has,
        message: 'an answer of the last reload',
        timeoutMs: 15_000,
      }).catch(() => false);
    } finally {
      // Also on a failure: clients left running would load every test after this one.
      stop = true;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(100);
    expect(answeredByLast).toBe(true);
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe('refusals', () => {
  it('a production tenant: 403 TENANT_NOT_SANDBOX, audited as denied', async () => {
    const r = await devInstall(core.api, { tenant: 'default', path: await project(core, 'dev-hello') });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('TENANT_NOT_SANDBOX');
    const audit = await core.api.get('/api/audit?tenant=default&limit=50');
    expect(
      audit.body.entries.some((e: any) => e.action === 'plugin.dev.install' && e.outcome === 'denied'),
    ).toBe(true);
    expect((await core.api.get(`/api/tenants/default/plugins/${DEV_ID}`)).status).toBe(404);
  });

  it('a path outside the allowed roots: 403 PATH_NOT_ALLOWED naming the roots', async () => {
    // Not the repository's fixtures folder: a clone may well sit under the temp folder or home,
    // which are allowed roots by default. /usr/share is outside both on every machine we run on.
    const r = await devInstall(core.api, { tenant: 'sandbox-dev', path: '/usr/share' });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('PATH_NOT_ALLOWED');
    expect(r.body.hint).toContain('PX_DEV_ROOTS');
    const relative = await devInstall(core.api, { tenant: 'sandbox-dev', path: 'projects/x' });
    expect(relative.body.code).toBe('PATH_NOT_ALLOWED');
  });

  it('a link inside an allowed root that points out of it is judged by its target', async () => {
    const link = join(core.tmp, 'link-to-fixtures');
    await symlink('/usr/share', link);
    const r = await devInstall(core.api, { tenant: 'sandbox-dev', path: link });
    expect(r.body.code).toBe('PATH_NOT_ALLOWED');
  });

  it('a project with a symlink pointing out of it: 400 DEV_PATH_LINK_OUT, nothing left behind', async () => {
    const r = await devInstall(core.api, {
      tenant: 'sandbox-dev',
      path: await project(core, 'dev-symlink-out'),
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'DEV_PATH_LINK_OUT',
      details: { path: 'dist/leak.txt' },
    });
    expect((await readdir(join(core.dataDir, 'staging'))).filter((n) => n.startsWith('dev-'))).toEqual([]);
    expect((await readdir(join(core.dataDir, 'uploads'))).filter((n) => n.startsWith('dev-'))).toEqual([]);
  });

  it('a folder without a build: 400 DEV_BUILD_NOT_FOUND', async () => {
    // Not core.tmp itself: it holds core's data folder, which is never a source.
    const empty = join(core.tmp, 'empty-project');
    await mkdir(empty, { recursive: true });
    const r = await devInstall(core.api, { tenant: 'sandbox-dev', path: empty });
    expect(r.body.code).toBe('DEV_BUILD_NOT_FOUND');
  });

  it('a caller without plugin:dev: 403 PERMISSION_MISSING', async () => {
    await core.api.post('/api/users', { username: 'reader', password: 'reader-password', permissions: [] });
    const login = await core.api.post('/api/auth/login', { username: 'reader', password: 'reader-password' });
    const r = await devInstall(core.api.as(login.body.token), {
      tenant: 'sandbox-dev',
      path: await project(core, 'dev-hello'),
    });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('PERMISSION_MISSING');
  });
});

describe('metrics', () => {
  it('counts dev installs by result and rollbacks', async () => {
    const text = await (await fetch(`${core.url}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    expect(value(/^plugin_dev_install_total\{result="success"\} (\d+)/m)).toBeGreaterThan(5);
    expect(value(/^plugin_dev_install_total\{result="failed"\} (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^plugin_dev_rollback_total (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^plugin_dev_install_duration_seconds_count\{result="success"\} (\d+)/m)).toBeGreaterThan(5);
    // Dev reloads are not sandbox upload installs.
    expect(value(/^plugin_install_sandbox_total\{result="success"\} (\d+)/m) || 0).toBe(0);
  });
});
