/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * The live log channel `plugin.dev.logs` on /api/ws against a real dev-mode core and real
 * plugin processes: auth (header or auth frame), per-tenant authorization, backfill, resume,
 * level filter, reload markers, heartbeats, and telling a client cut by the heartbeat where its lines
 * stopped (dropping a slow consumer at the buffer bound: ws-slow-consumer.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
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
  WsClient,
  type TestCore,
} from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_WS_HEARTBEAT_MS = '300';
process.env.PX_WS_MAX_BUFFERED_BYTES = String(64 * 1024);
process.env.PX_DEV_GRACE_MS = '300';

let core: TestCore;
let dir: string;
const TENANT = 'ws-logs';
const clients: WsClient[] = [];
const client = (headers?: Record<string, string>) => {
  const c = new WsClient(core, headers);
  clients.push(c);
  return c;
};
const subscribe = (extra: Record<string, unknown> = {}) => ({
  type: 'subscribe',
  channel: 'plugin.dev.logs',
  tenant: TENANT,
  plugin: DEV_ID,
  ...extra,
});

beforeAll(async () => {
  core = await startDevCore();
  await newSandbox(core.api, TENANT);
  dir = await project(core, 'dev-hello');
  expect((await devInstall(core.api, { tenant: TENANT, path: dir })).body.result).toBe('running');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await stopTestCore(core);
});

describe('/api/ws plugin.dev.logs', () => {
  it('authenticates by header, backfills the last lines, then streams new ones and reload markers', async () => {
    const ws = client({ authorization: `Bearer ${core.adminToken}` });
    await ws.opened;
    ws.send(subscribe({ backfill: 50 }));
    const subscribed = await ws.waitFor((f) => f.type === 'subscribed', 'subscribed');
    expect(subscribed.lastId).toBeGreaterThan(0);
    expect(ws.frames.find((f) => f.type === 'log')?.backfill).toBe(true);
    expect(ws.lines().some((l) => l.msg === 'started one')).toBe(true);

    await hello(core, TENANT);
    await ws.waitFor(
      (f) => f.type === 'log' && !f.backfill && f.lines.some((l: any) => l.msg === 'hello called'),
      'a live line',
    );

    await setMessage(dir, 'ws-two');
    await devInstall(core.api, { tenant: TENANT, path: dir });
    const marker = await ws.waitFor((f) => f.type === 'reload', 'reload marker');
    expect(marker.reload).toMatchObject({ result: 'running', version: '0.1.0' });
    await ws.waitFor(
      (f) => f.type === 'log' && f.lines.some((l: any) => l.msg === 'started ws-two'),
      'the new version logging',
    );
    // Lines arrive once, in id order.
    const ids = ws.lines().map((l) => l.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('authenticates with an auth frame (browsers), filters by level and resumes after an id without duplicates', async () => {
    const ws = client();
    await ws.opened;
    ws.send({ type: 'auth', token: core.adminToken });
    ws.send(subscribe({ backfill: 1000, level: 'warn' }));
    await ws.waitFor((f) => f.type === 'subscribed', 'subscribed');
    const lines = ws.lines();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => ['warn', 'error', 'fatal'].includes(l.level))).toBe(true);

    const all = client({ authorization: `Bearer ${core.adminToken}` });
    await all.opened;
    all.send(subscribe({ backfill: 1000 }));
    const sub = await all.waitFor((f) => f.type === 'subscribed', 'subscribed');
    const resumeFrom = all.lines().at(-3).id;
    const resumed = client({ authorization: `Bearer ${core.adminToken}` });
    await resumed.opened;
    resumed.send(subscribe({ afterId: resumeFrom }));
    await resumed.waitFor((f) => f.type === 'subscribed', 'resumed');
    // Lines the old version writes while it stops may arrive live in between: compare up to `all`'s lastId.
    expect(
      resumed
        .lines()
        .filter((l) => l.id <= sub.lastId)
        .map((l) => l.id),
    ).toEqual(
      all
        .lines()
        .filter((l) => l.id > resumeFrom && l.id <= sub.lastId)
        .map((l) => l.id),
    );
  });

  it('refuses unauthenticated subscriptions, bad tokens and tenants the caller is not a member of', async () => {
    const anon = client();
    await anon.opened;
    anon.send(subscribe());
    expect((await anon.waitFor((f) => f.type === 'error', 'error')).code).toBe('AUTH_REQUIRED');

    const bad = client({ authorization: 'Bearer nope' });
    await bad.opened;
    await bad.closed;
    expect(bad.closeCode).toBe(4001);
    expect(bad.frames[0]).toMatchObject({ type: 'error', code: 'AUTH_INVALID' });

    await core.api.post('/api/users', {
      username: 'outsider',
      password: 'outsider-password',
      permissions: ['plugin:dev'],
    });
    const token = (
      await core.api.post('/api/auth/login', { username: 'outsider', password: 'outsider-password' })
    ).body.token;
    const outsider = client({ authorization: `Bearer ${token}` });
    await outsider.opened;
    outsider.send(subscribe());
    expect((await outsider.waitFor((f) => f.type === 'error', 'error')).code).toBe('TENANT_NOT_MEMBER');
    expect(outsider.lines()).toEqual([]);

    const garbage = client({ authorization: `Bearer ${core.adminToken}` });
    await garbage.opened;
    garbage.ws.send('not json');
    expect((await garbage.waitFor((f) => f.type === 'error', 'error')).code).toBe('BAD_REQUEST');
  });

  it('sends heartbeats', async () => {
    const ws = client({ authorization: `Bearer ${core.adminToken}` });
    await ws.opened;
    await until(() => ws.frames.filter((f) => f.type === 'heartbeat').length, {
      ok: (n) => n >= 2,
      message: 'two heartbeats',
    });
  });

  it('answers a plain GET with 426 so clients can tell the channel exists', async () => {
    const r = await fetch(`${core.url}/api/ws`);
    expect(r.status).toBe(426);
  });

  it('tells a client cut for not answering the heartbeat, on its next subscription, where its lines stopped', async () => {
    const mute = client({ authorization: `Bearer ${core.adminToken}` });
    await mute.opened;
    mute.send(subscribe({ backfill: 5 }));
    const subscribed = await mute.waitFor((f) => f.type === 'subscribed', 'subscribed');
    expect(subscribed.lastId).toBeGreaterThan(0);
    // Stop reading: the next ping goes unanswered and core cuts the client.
    (mute.ws as any)._socket.pause();
    // Each look consumes the notice, so the first that has one is the only one.
    const dropped = await until(
      async () => {
        const look = client({ authorization: `Bearer ${core.adminToken}` });
        await look.opened;
        look.send(subscribe({ backfill: 0 }));
        const frame = await look.waitFor((f) => f.type === 'subscribed', 'subscribed to look');
        look.close();
        return frame.dropped;
      },
      { ok: (d) => d !== undefined, message: 'a drop notice for the cut client', timeoutMs: 20_000 },
    );
    expect(dropped.reason).toMatch(/heartbeat/);
    expect(dropped.missedAfterId).toBeGreaterThanOrEqual(subscribed.lastId);
    expect(Date.parse(dropped.at)).not.toBeNaN();
    (mute.ws as any)._socket.resume();
    await mute.closed;
    expect(mute.closeCode).toBe(1006);
  });
});
