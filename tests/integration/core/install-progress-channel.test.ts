/* eslint-disable @typescript-eslint/no-explicit-any -- JSON frames of the API under test are checked by assertions, not types */
/**
 * The live channel `plugin.install.progress` on /api/ws of one embedded core (SQLite, in-process
 * bus): every stage of an install live and in order, a failure with its code and hint, an
 * uninstall, the snapshot a late subscriber starts from, and per-tenant authorization.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import {
  HELLO_ID,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';
import { WsClient } from '../dev/dev-kit.ts';
import { INSTALL_STAGES } from '@powerx/protocol';

const TENANT = 'sandbox-dev';
/** Every stage of an install that goes through, in order (protocol's list). */
const PIPELINE: readonly string[] = INSTALL_STAGES;

let core: TestCore;
let pkgs: Record<string, string>;
let tmp: string;
const sockets: WsClient[] = [];

async function subscribed(extra: Record<string, unknown> = {}, token = core.adminToken): Promise<WsClient> {
  const ws = new WsClient(core, { authorization: `Bearer ${token}` });
  sockets.push(ws);
  await ws.opened;
  ws.send({ type: 'subscribe', channel: 'plugin.install.progress', tenant: TENANT, ...extra });
  await ws.waitFor((f) => f.type === 'progress_snapshot' || f.type === 'error', 'snapshot');
  return ws;
}

/** The progress of one install as the socket received it live, once it reached `state`. */
async function liveUntil(ws: WsClient, installId: string, state: string): Promise<any[]> {
  await ws.waitFor(
    (f) => f.type === 'progress' && f.progress.installId === installId && f.progress.state === state,
    `${installId} ${state}`,
    60_000,
  );
  return ws.frames.filter((f) => f.type === 'progress' && f.progress.installId === installId);
}

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(tmp);
  core = await startTestCore();
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('/api/ws plugin.install.progress on one core', { timeout: 120_000 }, () => {
  it('streams every stage of an install live and in order, ending in running, without secrets', async () => {
    const ws = await subscribed();
    expect(ws.frames.find((f) => f.type === 'progress_snapshot').installs).toEqual([]);
    const r = await core.api.install(pkgs.hello, {
      wait: false,
      config: { env: { TIMES: '2' }, secrets: { API_KEY: 'progress-secret' } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const frames = await liveUntil(ws, r.body.id, 'running');
    expect(frames.map((f) => f.progress.stage)).toEqual(PIPELINE);
    expect(frames.map((f) => f.progress.seq)).toEqual(PIPELINE.map((_, i) => 2 * (i + 1)));
    const last = frames.at(-1).progress;
    expect(last).toMatchObject({ kind: 'install', tenant: TENANT, pluginId: HELLO_ID, version: '1.0.0' });
    expect(last.stages.map((s: any) => s.stage)).toEqual(PIPELINE);
    expect(frames.slice(0, -1).every((f) => f.progress.state === 'in_progress')).toBe(true);
    expect(JSON.stringify(ws.frames)).not.toContain('progress-secret');
  });

  it('shows a failed upgrade with its code, stage and hint', async () => {
    const ws = await subscribed();
    const r = await core.api.install(pkgs['hello-unhealthy'], { wait: false });
    const frames = await liveUntil(ws, r.body.id, 'failed');
    expect(frames.map((f) => f.progress.stage).slice(-2)).toEqual(['rolling_back', 'failed']);
    const failed = frames.at(-1).progress;
    expect(failed.kind).toBe('upgrade');
    expect(failed.error.code).toMatch(/^HEALTH_/);
    expect(failed.error.stage).toBe('health_check');
    expect(failed.error.hint.length).toBeGreaterThan(0);
    const rest = await core.api.get(`/api/installs/${r.body.id}`);
    expect(failed.error).toEqual(rest.body.error);
  });

  it('gives a late subscriber the installs in flight, then their next stages live', async () => {
    // The wizard fixture has required values without defaults: the install parks, waiting.
    const r = await core.api.install(pkgs.wizard, { wait: false });
    await core.api.waitInstall(r.body.id, (state) => state === 'awaiting_config');
    await until(async () => (await core.api.get(`/api/installs/${r.body.id}`)).body.stages.at(-1).outcome);
    const ws = await subscribed();
    const snapshot = ws.frames.find((f) => f.type === 'progress_snapshot');
    expect(snapshot.installs).toHaveLength(1);
    expect(snapshot.installs[0]).toMatchObject({
      installId: r.body.id,
      stage: 'awaiting_config',
      state: 'waiting',
      kind: 'install',
    });
    expect((await core.api.delete(`/api/installs/${r.body.id}`)).status).toBeLessThan(300);
    const frames = await liveUntil(ws, r.body.id, 'failed');
    expect(frames.map((f) => f.progress.stage)).toEqual(['rolling_back', 'failed']);
    expect(frames.at(-1).progress.error.code).toBe('INSTALL_CANCELLED');
  });

  it('tells a subscriber live when an install parks waiting for wizard values', async () => {
    const ws = await subscribed();
    const r = await core.api.install(pkgs.wizard, { wait: false });
    // The parking adds no stage (awaiting_config's outcome turns waiting): it still gets a frame.
    const frames = await liveUntil(ws, r.body.id, 'waiting');
    expect(frames.at(-1).progress).toMatchObject({ stage: 'awaiting_config', state: 'waiting' });
    const seqs = frames.map((f) => f.progress.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect((await core.api.delete(`/api/installs/${r.body.id}`)).status).toBeLessThan(300);
    await liveUntil(ws, r.body.id, 'failed');
  });

  it('subscribes to one install: its snapshot even when finished, and only its frames', async () => {
    const installs = (await core.api.get(`/api/installs?tenant=${TENANT}&plugin=${HELLO_ID}`)).body;
    const running = installs.installs.find((i: any) => i.state === 'running');
    const ws = await subscribed({ installId: running.id });
    const snapshot = ws.frames.find((f) => f.type === 'progress_snapshot');
    expect(snapshot).toMatchObject({ installId: running.id });
    expect(snapshot.installs.map((p: any) => [p.installId, p.state])).toEqual([[running.id, 'running']]);
    const other = await subscribed({ installId: 'no-such-install' });
    expect(other.frames.find((f) => f.type === 'error').code).toBe('INSTALL_NOT_FOUND');
  });

  it('shows an uninstall as uninstalling then uninstalled', async () => {
    const ws = await subscribed();
    const plugin = (await core.api.get(`/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).body;
    const activeId = plugin.activeInstallId;
    expect((await core.api.delete(`/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).status).toBeLessThan(300);
    const frames = await liveUntil(ws, activeId, 'uninstalled');
    expect(frames.map((f) => [f.progress.kind, f.progress.stage])).toEqual([
      ['uninstall', 'uninstalling'],
      ['uninstall', 'uninstalled'],
    ]);
  });

  it('refuses a user who is not a member of the tenant with TENANT_NOT_MEMBER', async () => {
    const outsider = await core.api.user('progress-outsider', ['plugin:dev']);
    const ws = await subscribed({}, outsider.token);
    const error = ws.frames.find((f) => f.type === 'error');
    expect(error.code).toBe('TENANT_NOT_MEMBER');
    expect(ws.frames.some((f) => f.type === 'progress_snapshot')).toBe(false);
  });
});

async function until(read: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await read()) === 'waiting') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('install never parked waiting');
}
