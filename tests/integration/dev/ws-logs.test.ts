/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * The live log channel `plugin.dev.logs` on /api/ws against a real dev-mode core and real
 * plugin processes: auth (header or auth frame), per-tenant authorization, backfill, resume,
 * level filter, reload markers, heartbeats, and dropping a client that does not read.
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

  it('tells a client that does not read that it is dropped, closes it, and keeps serving the others', async () => {
    const spamDir = await project(core, 'dev-chatty');
    await newSandbox(core.api, 'ws-spam');
    expect((await devInstall(core.api, { tenant: 'ws-spam', path: spamDir })).body.result).toBe('running');
    const spam = (n: number) => fetch(`${core.entryUrl('ws-spam', DEV_ID)}spam?n=${n}`);
    const slow = client({ authorization: `Bearer ${core.adminToken}` });
    const healthy = client({ authorization: `Bearer ${core.adminToken}` });
    await Promise.all([slow.opened, healthy.opened]);
    for (const c of [slow, healthy])
      c.send({
        type: 'subscribe',
        channel: 'plugin.dev.logs',
        tenant: 'ws-spam',
        plugin: DEV_ID,
        backfill: 0,
      });
    await Promise.all([
      slow.waitFor((f) => f.type === 'subscribed', 'slow subscribed'),
      healthy.waitFor((f) => f.type === 'subscribed', 'subscribed'),
    ]);
    // Stop reading.
    (slow.ws as any)._socket.pause();
    // ~16 MB of log lines (the runtime's log rate limit spreads them over a few seconds): more than
    // the loopback socket buffers hold, so core's own bound (64 KiB here) is reached.
    for (let i = 0; i < 10; i++) {
      await spam(400);
      await new Promise((r) => setTimeout(r, 400));
    }
    await until(() => healthy.lines().length, {
      ok: (n) => n >= 500,
      message: 'the healthy client keeps getting lines',
      timeoutMs: 30_000,
    });
    (slow.ws as any)._socket.resume();
    await slow.closed;
    expect([4008, 1006]).toContain(slow.closeCode);
    if (slow.closeCode === 4008) expect(slow.frames.some((f) => f.type === 'dropped')).toBe(true);
    expect(healthy.closeCode).toBeUndefined();

    // The `dropped` frame sat behind the unread backlog and may be lost with it (1006): the
    // same user's next subscription is told, with the last line core had sent on the old one.
    const slowLast = slow.lines().at(-1)?.id ?? 0;
    const again = client({ authorization: `Bearer ${core.adminToken}` });
    await again.opened;
    again.send({
      type: 'subscribe',
      channel: 'plugin.dev.logs',
      tenant: 'ws-spam',
      plugin: DEV_ID,
      backfill: 0,
    });
    const resumed = await again.waitFor((f) => f.type === 'subscribed', 'resubscribed');
    expect(resumed.dropped).toMatchObject({ reason: expect.stringContaining('slow consumer') });
    expect(resumed.dropped.missedAfterId).toBeGreaterThanOrEqual(slowLast);
    expect(Date.parse(resumed.dropped.at)).not.toBeNaN();
    // Told once: a later subscription carries no notice.
    const later = client({ authorization: `Bearer ${core.adminToken}` });
    await later.opened;
    later.send({
      type: 'subscribe',
      channel: 'plugin.dev.logs',
      tenant: 'ws-spam',
      plugin: DEV_ID,
      backfill: 0,
    });
    expect((await later.waitFor((f) => f.type === 'subscribed', 'subscribed again')).dropped).toBeUndefined();

    // Core never held more for one client than the bound plus one frame (≤ 128 KiB of lines + one line).
    const metrics = await (await fetch(`${core.url}/metrics`)).text();
    const held = Number(/^px_ws_buffered_bytes_max (\d+)/m.exec(metrics)?.[1]);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(64 * 1024 + 128 * 1024 + 16 * 1024);
  });
});
