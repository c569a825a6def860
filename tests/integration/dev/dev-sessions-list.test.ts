/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * GET /api/plugins/dev/sessions?tenant=: the active sessions of a tenant (holder, started, last
 * seen) with their reload history (time, duration, result, and for a failed reload the rollback
 * code, stage, message and hint); authorized per tenant; 404 DEV_MODE_DISABLED without dev mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import {
  DEV_ID,
  devInstall,
  newSandbox,
  project,
  setMessage,
  startDevCore,
  stopTestCore,
  until,
  type TestCore,
} from './dev-kit.ts';
import { startTestCore } from '../../support/core-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
// Long enough to send the crashing request inside it on a loaded machine (a newer reload cuts it short).
process.env.PX_DEV_GRACE_MS = '10000';

let core: TestCore;
beforeAll(async () => {
  core = await startDevCore();
});
afterAll(async () => {
  await stopTestCore(core);
});

describe('dev sessions list', () => {
  it('lists the active session with its holder and every reload, newest first, with the rollback reason of a failed one', async () => {
    const tenant = await newSandbox(core.api, 'list-sessions');
    const session = (
      await core.api.post('/api/plugins/dev/sessions', {
        tenant,
        pluginId: DEV_ID,
        client: 'px-plugin dev on laptop (pid 7)',
      })
    ).body;
    const dir = await project(core, 'dev-hello');
    expect((await devInstall(core.api, { tenant, path: dir, sessionId: session.id })).body.result).toBe(
      'running',
    );
    await setMessage(dir, 'second build');
    expect((await devInstall(core.api, { tenant, path: dir, sessionId: session.id })).body.result).toBe(
      'running',
    );
    const bad = await devInstall(core.api, {
      tenant,
      path: await project(core, 'dev-never-healthy'),
      sessionId: session.id,
    });
    expect(bad.body.result).toBe('failed');
    expect(
      (
        await core.api.post(`/api/plugins/dev/sessions/${session.id}/build-error`, {
          message: 'src/server.ts:3:7: Expected ";"',
        })
      ).status,
    ).toBe(204);

    const r = await core.api.get(`/api/plugins/dev/sessions?tenant=${tenant}`);
    expect(r.status).toBe(200);
    expect(r.body.tenant).toBe(tenant);
    expect(r.body.recent).toEqual([]);
    expect(r.body.sessions).toHaveLength(1);
    const s = r.body.sessions[0];
    expect(s).toMatchObject({
      id: session.id,
      pluginId: DEV_ID,
      user: 'admin',
      client: 'px-plugin dev on laptop (pid 7)',
      startedAt: session.createdAt,
    });
    expect(Date.parse(s.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    expect(s.reloads.map((x: any) => x.result)).toEqual(['build_failed', 'failed', 'running', 'running']);
    const [build, failed, second] = s.reloads;
    expect(build.rollback).toMatchObject({
      code: 'BUILD_FAILED',
      stage: 'build',
      message: 'src/server.ts:3:7: Expected ";"',
      restored: false,
    });
    expect(build.rollback.serving.installId).toBe(second.installId);
    expect(failed.rollback.code).toMatch(/HEALTH/);
    expect(failed.rollback.stage).toBe('health_check');
    expect(failed.rollback.message).toBeTruthy();
    expect(failed.rollback.hint).toBeTruthy();
    expect(failed.rollback.serving).toEqual({ version: second.version, installId: second.installId });
    expect(failed.installId).toBe(bad.body.installId);
    expect(second.rollback).toBeUndefined();
    expect(second.durationMs).toBeGreaterThan(0);
    expect(second.id).toMatch(/^dr_/);
  });

  it('updates a reload that crashed in its grace window to rolled_back, with the reason', async () => {
    const tenant = await newSandbox(core.api, 'list-crash');
    expect((await devInstall(core.api, { tenant, path: await project(core, 'dev-hello') })).body.result).toBe(
      'running',
    );
    const next = await devInstall(core.api, { tenant, path: await project(core, 'dev-crash-on-request') });
    expect(next.body.result).toBe('running');
    await fetch(`${core.entryUrl(tenant, DEV_ID)}hello`).catch(() => undefined);
    const r = await until(() => core.api.get(`/api/plugins/dev/sessions?tenant=${tenant}`), {
      ok: (x) => x.body.sessions?.[0]?.reloads?.[0]?.result === 'rolled_back',
      message: 'crash recorded',
    });
    const [crashed] = r.body.sessions[0].reloads;
    expect(r.body.sessions[0].reloads).toHaveLength(2);
    expect(crashed.id).toBe(next.body.id);
    expect(crashed.rollback).toMatchObject({
      code: 'DEV_CRASHED_AFTER_SWITCH',
      stage: 'after_switch',
      restored: true,
    });
    expect(crashed.rollback.hint).toBeTruthy();
  });

  it('keeps the history of a plugin whose session ended under recent, and across a core restart', async () => {
    const tenant = await newSandbox(core.api, 'list-ended');
    const session = (await core.api.post('/api/plugins/dev/sessions', { tenant, pluginId: DEV_ID })).body;
    expect(
      (await devInstall(core.api, { tenant, path: await project(core, 'dev-hello'), sessionId: session.id }))
        .body.result,
    ).toBe('running');
    expect((await core.api.req('DELETE', `/api/plugins/dev/sessions/${session.id}?keep=true`)).status).toBe(
      200,
    );
    const r = await core.api.get(`/api/plugins/dev/sessions?tenant=${tenant}`);
    expect(r.body.sessions).toEqual([]);
    expect(r.body.recent).toEqual([
      { pluginId: DEV_ID, reloads: [expect.objectContaining({ result: 'running' })] },
    ]);

    // A restart (same data folder): the history is kept in core's database.
    const tmp = core.tmp;
    await core.close();
    core = await startDevCore({ tmp });
    const after = await core.api.get(`/api/plugins/dev/sessions?tenant=${tenant}`);
    expect(after.body.recent).toEqual(r.body.recent);
  });

  it('answers only members of the tenant (and admins)', async () => {
    const tenant = await newSandbox(core.api, 'list-private');
    await core.api.post('/api/users', {
      username: 'eve',
      password: 'eve-password',
      permissions: ['plugin:dev'],
    });
    const eve = core.api.as(
      (await core.api.post('/api/auth/login', { username: 'eve', password: 'eve-password' })).body.token,
    );
    const r = await eve.get(`/api/plugins/dev/sessions?tenant=${tenant}`);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('TENANT_NOT_MEMBER');
    expect((await core.api.get('/api/plugins/dev/sessions')).status).toBe(400);
  });

  it('answers 404 DEV_MODE_DISABLED with the hint when core is not in dev mode', async () => {
    const plain = await startTestCore({ processMetrics: false });
    try {
      const r = await plain.api.get('/api/plugins/dev/sessions?tenant=sandbox-dev');
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('DEV_MODE_DISABLED');
      expect(r.body.hint).toContain('PX_PLUGIN_DEV_MODE=1');
    } finally {
      await stopTestCore(plain);
    }
  });
});
