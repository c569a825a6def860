/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * Dev sessions (one per tenant and plugin, expiring without heartbeats), dev mode off, a core
 * restart in the middle of a session, and the 7-day retention of dev logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEV_ID,
  devInstall,
  hello,
  newSandbox,
  project,
  setMessage,
  startDevCore,
  stopTestCore,
  until,
  type TestCore,
} from './dev-kit.ts';
import { makeTmp, startTestCore } from '../../support/core-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '500';

/**
 * The idle timeout comes from the dev policy file, re-read at run time: a long one by default, so
 * no session expires because a loaded machine was slow; the expiry and heartbeat tests shorten it
 * where time is what they check.
 */
const LONG_IDLE_TIMEOUT_S = 300;
let policyDir: string;
let policyFile: string;
let core: TestCore;
let bobToken: string;

async function writePolicy(idleTimeoutSeconds: number): Promise<void> {
  await writeFile(policyFile, `sessions:\n  idleTimeoutSeconds: ${idleTimeoutSeconds}\n`);
}

/** Sets the idle timeout of the running core (the next open or heartbeat uses it). */
async function setIdleTimeout(seconds: number): Promise<void> {
  await writePolicy(seconds);
  await core.reloadPolicy();
}

const startCore = (opts: { tmp?: string } = {}) => startDevCore({ devPolicyFile: policyFile, ...opts });

beforeAll(async () => {
  policyDir = await makeTmp('pxdev-policy-');
  policyFile = join(policyDir, 'dev_policy.yaml');
  await writePolicy(LONG_IDLE_TIMEOUT_S);
  core = await startCore();
  await core.api.post('/api/users', {
    username: 'bob',
    password: 'bob-password',
    permissions: ['plugin:dev'],
  });
  bobToken = (await core.api.post('/api/auth/login', { username: 'bob', password: 'bob-password' })).body
    .token;
});
afterAll(async () => {
  await stopTestCore(core);
  await rm(policyDir, { recursive: true, force: true });
});

async function sharedSandbox(id: string): Promise<string> {
  await newSandbox(core.api, id);
  await core.api.post(`/api/tenants/${id}/members`, { username: 'bob', role: 'developer' });
  return id;
}

describe('dev sessions', () => {
  it('refuses a second session on the same plugin, naming the holder', async () => {
    const tenant = await sharedSandbox('sess-conflict');
    const mine = await core.api.post('/api/plugins/dev/sessions', {
      tenant,
      pluginId: DEV_ID,
      client: 'px-plugin dev on laptop-a (pid 1)',
    });
    expect(mine.status).toBe(201);
    const bob = core.api.as(bobToken);
    const second = await bob.post('/api/plugins/dev/sessions', {
      tenant,
      pluginId: DEV_ID,
      client: 'px-plugin dev on laptop-b (pid 2)',
    });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('DEV_SESSION_CONFLICT');
    expect(second.body.message).toContain('admin (px-plugin dev on laptop-a (pid 1)');
    // A dev install without a session id is refused the same way.
    const install = await devInstall(bob, { tenant, path: await project(core, 'dev-hello') });
    expect(install.body.code).toBe('DEV_SESSION_CONFLICT');
    expect((await core.api.req('DELETE', `/api/plugins/dev/sessions/${mine.body.id}`)).status).toBe(200);
    expect((await bob.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).status).toBe(201);
  });

  it('a session whose CLI goes away expires and frees the plugin; the plugin keeps serving', async () => {
    const tenant = await sharedSandbox('sess-expire');
    const session = (
      await core.api.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID, client: 'gone soon' })
    ).body;
    expect(
      (await devInstall(core.api, { tenant, path: await project(core, 'dev-hello'), sessionId: session.id }))
        .body.result,
    ).toBe('running');
    const bob = core.api.as(bobToken);
    try {
      // The policy's idle timeout shrinks to 1 s; the CLI's last heartbeat takes it, then it goes away.
      await setIdleTimeout(1);
      const last = Date.now();
      expect((await core.api.post(`/api/plugins/dev/sessions/${session.id}/heartbeat`)).body.ttlMs).toBe(
        1000,
      );
      const taken = await until(() => bob.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID }), {
        ok: (r) => r.status === 201,
        message: 'session expiry',
      });
      // Not before its time: one idle timeout after the last heartbeat at the earliest.
      expect(Date.now() - last).toBeGreaterThanOrEqual(1000);
      expect(taken.body.user).toBe('bob');
    } finally {
      await setIdleTimeout(LONG_IDLE_TIMEOUT_S);
    }
    expect((await hello(core, tenant)).status).toBe(200);
    expect((await core.api.post(`/api/plugins/dev/sessions/${session.id}/heartbeat`)).body.code).toBe(
      'DEV_SESSION_NOT_FOUND',
    );
    await until(() => core.api.get(`/api/audit?tenant=${tenant}&limit=100`), {
      ok: (a) => a.body.entries.some((e: any) => e.action === 'plugin.dev.session.expired'),
      message: 'expiry audited',
    });
  });

  it('heartbeats keep a session alive beyond its ttl', async () => {
    const tenant = await sharedSandbox('sess-alive');
    // 3 s: ten heartbeat periods, so only a heartbeat that stalls for seconds could miss it.
    await setIdleTimeout(3);
    try {
      const session = (await core.api.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).body;
      expect(session.ttlMs).toBe(3000);
      const end = Date.now() + 4500; // well beyond the ttl
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 300));
        expect((await core.api.post(`/api/plugins/dev/sessions/${session.id}/heartbeat`)).status).toBe(200);
      }
      expect(
        (await core.api.as(bobToken).post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).body
          .code,
      ).toBe('DEV_SESSION_CONFLICT');
    } finally {
      await setIdleTimeout(LONG_IDLE_TIMEOUT_S);
    }
  });

  it('ending a session uninstalls the plugin, unless keep=true', async () => {
    const tenant = await sharedSandbox('sess-end');
    const dir = await project(core, 'dev-hello');
    let session = (await core.api.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).body;
    await devInstall(core.api, { tenant, path: dir, sessionId: session.id });
    expect((await core.api.req('DELETE', `/api/plugins/dev/sessions/${session.id}?keep=true`)).body).toEqual({
      uninstalled: false,
    });
    expect((await hello(core, tenant)).status).toBe(200);
    session = (await core.api.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).body;
    expect((await core.api.req('DELETE', `/api/plugins/dev/sessions/${session.id}`)).body).toEqual({
      uninstalled: true,
    });
    expect((await hello(core, tenant)).status).toBe(404);
  });

  it('a build error reported by the CLI becomes a log line and a rollback event; nothing changes', async () => {
    const tenant = await sharedSandbox('sess-build-error');
    const session = (await core.api.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).body;
    await devInstall(core.api, { tenant, path: await project(core, 'dev-hello'), sessionId: session.id });
    const seen: any[] = [];
    const off = core.bus.subscribe('plugin.dev.rollback', (e) => seen.push(e.payload));
    const r = await core.api.post(`/api/plugins/dev/sessions/${session.id}/build-error`, {
      message: 'src/server.ts:3:9: Unexpected ";"',
    });
    off();
    expect(r.status).toBe(204);
    expect(seen[0]).toMatchObject({ tenant, stage: 'build', code: 'BUILD_FAILED', serving: '0.1.0' });
    const logs = await core.api.get(`/api/tenants/${tenant}/plugins/${DEV_ID}/logs?level=error`);
    expect(
      logs.body.lines.some(
        (l: any) => l.msg.includes('build failed, nothing pushed') && l.msg.includes('src/server.ts:3:9'),
      ),
    ).toBe(true);
    expect(JSON.parse((await hello(core, tenant)).text).message).toBe('one');
  });

  it('dev logs are kept 7 days', async () => {
    const tenant = 'sess-build-error';
    const before = (await core.api.get(`/api/tenants/${tenant}/plugins/${DEV_ID}/logs?limit=1000`)).body.lines
      .length;
    expect(before).toBeGreaterThan(0);
    expect((await core.sweepRetention(new Date(Date.now() + 6 * 86_400_000))).logLinesDeleted).toBe(0);
    const swept = await core.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
    expect(swept.logLinesDeleted).toBeGreaterThanOrEqual(before);
  });
});

describe('dev mode off', () => {
  it('every dev endpoint answers 404 DEV_MODE_DISABLED with the hint to turn it on', async () => {
    const off = await startTestCore({ devMode: false, processMetrics: false });
    try {
      const calls = [
        off.api.post('/api/plugins/dev/install', { tenant: 'sandbox-dev', path: '/tmp' }),
        off.api.post('/api/plugins/dev/install', { nonsense: true }),
        off.api.req('DELETE', '/api/plugins/dev/install', { tenant: 'sandbox-dev', pluginId: DEV_ID }),
        off.api.post('/api/plugins/dev/sessions', { tenant: 'sandbox-dev', pluginId: DEV_ID }),
        off.api.get('/api/plugins/dev/status'),
      ];
      for (const r of await Promise.all(calls)) {
        expect(r.status).toBe(404);
        expect(r.body).toMatchObject({
          code: 'DEV_MODE_DISABLED',
          hint: expect.stringContaining('PX_PLUGIN_DEV_MODE=1'),
        });
      }
    } finally {
      await stopTestCore(off);
    }
  });
});

describe('core restarted during a session', () => {
  it('brings the plugin back, keeps the session (heartbeats and reloads go on) and its lock', async () => {
    const tmp = await makeTmp('pxdev-restart-');
    let first: TestCore | undefined = await startCore({ tmp });
    let second: TestCore | undefined;
    try {
      const dir = await project(first, 'dev-hello');
      const session = (
        await first.api.post('/api/plugins/dev/sessions', {
          tenant: 'sandbox-dev',
          pluginId: DEV_ID,
          client: 'survivor',
        })
      ).body;
      expect(
        (await devInstall(first.api, { tenant: 'sandbox-dev', path: dir, sessionId: session.id })).body
          .result,
      ).toBe('running');
      await first.close();
      first = undefined;

      second = await startCore({ tmp });
      expect(second.recovery.started).toBe(1);
      expect(JSON.parse((await hello(second, 'sandbox-dev')).text).message).toBe('one');
      expect((await second.api.post(`/api/plugins/dev/sessions/${session.id}/heartbeat`)).status).toBe(200);
      await setMessage(dir, 'after-restart');
      expect(
        (await devInstall(second.api, { tenant: 'sandbox-dev', path: dir, sessionId: session.id })).body
          .result,
      ).toBe('running');
      expect(JSON.parse((await hello(second, 'sandbox-dev')).text).message).toBe('after-restart');
      const other = await second.api.post('/api/plugins/dev/sessions', {
        tenant: 'sandbox-dev',
        pluginId: DEV_ID,
        client: 'intruder',
      });
      expect(other.body.code).toBe('DEV_SESSION_CONFLICT');
    } finally {
      await first?.close();
      await second?.close();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
