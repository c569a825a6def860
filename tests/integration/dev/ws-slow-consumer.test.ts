/* eslint-disable @typescript-eslint/no-explicit-any -- frames of the API under test are checked by assertions, not types */
/**
 * Backpressure on /api/ws `plugin.dev.logs`: a client that does not read is dropped once core holds
 * more than PX_WS_MAX_BUFFERED_BYTES for it, told so (now or on its next subscription), and the
 * others are served on. The heartbeat keeps its 15 s default here: at the 300 ms of
 * ws-logs.test.ts it cuts a client that stopped reading before a loaded machine's plugin has
 * written enough to reach the bound, and that is another path (tested there).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import {
  DEV_ID,
  devInstall,
  newSandbox,
  project,
  startDevCore,
  stopTestCore,
  until,
  WsClient,
  type TestCore,
} from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_WS_MAX_BUFFERED_BYTES = String(64 * 1024);
process.env.PX_DEV_GRACE_MS = '300';

let core: TestCore;
const clients: WsClient[] = [];
const client = (headers?: Record<string, string>) => {
  const c = new WsClient(core, headers);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  core = await startDevCore();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await stopTestCore(core);
});

describe('/api/ws backpressure', () => {
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
