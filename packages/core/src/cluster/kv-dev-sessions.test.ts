/**
 * The cluster's dev sessions against a real NATS server: each simulated node has its own
 * connection and store on one prefix. Time is the stores' shared injected clock, so expiry is
 * decided by the test, not by the machine's load; the races are real concurrent writes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNats } from './test-nats.ts';
import { KvDevSessions } from './kv-dev-sessions.ts';
import type { SessionSettings } from '../dev/dev-session-store.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
let now: number;
const clock = () => now;
let settings: SessionSettings;
const user = (n: number) => ({
  userId: `u${n}`,
  username: `dev${n}`,
  client: `px-plugin dev on laptop-${n}`,
});
const [alice, bob] = [user(1), user(2)];

beforeEach(async () => {
  nats = await openTestNats(2);
  now = Date.parse('2026-01-01T00:00:00Z');
  settings = { ttlMs: 30_000, maxPerUser: 10 };
});
const stores: KvDevSessions[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  await nats.close();
});

/** The stores of node B and node C, watching the bucket. */
async function nodes(): Promise<[KvDevSessions, KvDevSessions]> {
  const store = async (i: number) => {
    const s = new KvDevSessions(nats.nodes[i].devSessions, () => settings, clock);
    await s.load();
    stores.push(s);
    return s;
  };
  return [await store(0), await store(1)];
}

/** Until every store's watch has brought this state of the session (the sweep reads the watched copy). */
async function seenByAll(tenant: string, session: { id: string; expiresAt: string }): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const s of stores)
    while (!(await s.list(tenant)).some((x) => x.id === session.id && x.expiresAt === session.expiresAt)) {
      if (Date.now() > deadline) throw new Error(`session ${session.id} not seen by every node`);
      await new Promise((r) => setTimeout(r, 20));
    }
}

describe('dev sessions in NATS KV', () => {
  it('grants a plugin to one session cluster-wide; the other node names its holder, serves it', async () => {
    const [b, c] = await nodes();
    const s = await b.open('t', 'p', alice);
    await expect(c.open('t', 'p', bob)).rejects.toMatchObject({
      code: 'DEV_SESSION_CONFLICT',
      message: expect.stringContaining('dev1 (px-plugin dev on laptop-1'),
    });
    await expect(c.claim('t', 'p', bob)).rejects.toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
    // Opened through B, kept alive, claimed, listed and ended through C.
    now += 20_000;
    expect((await c.heartbeat(s.id)).expiresAt).toBe(new Date(now + 30_000).toISOString());
    expect((await c.claim('t', 'p', alice, s.id)).id).toBe(s.id);
    await expect(c.claim('t', 'other', alice, s.id)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await c.get(s.id))?.userId).toBe('u1');
    expect((await c.list('t')).map((x) => x.id)).toEqual([s.id]);
    expect(await c.list('t2')).toEqual([]);
    now += 25_000; // past the first expiry: the heartbeat through C moved it
    expect((await b.holderOf('t', 'p'))?.id).toBe(s.id);
    expect((await c.end(s.id))?.id).toBe(s.id);
    expect(await b.holderOf('t', 'p')).toBeUndefined();
    await expect(b.heartbeat(s.id)).rejects.toMatchObject({ code: 'DEV_SESSION_NOT_FOUND' });
    expect((await b.open('t', 'p', bob)).user).toBe('dev2');
  });

  it('lets exactly one of two opens at once win, on either node', async () => {
    const [b, c] = await nodes();
    for (let round = 0; round < 8; round++) {
      const plugin = `p${round}`;
      const results = await Promise.allSettled([b.open('t', plugin, alice), c.open('t', plugin, bob)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
      const winner = (won[0] as PromiseFulfilledResult<{ id: string; user: string }>).value;
      expect(lost.reason.message).toContain(winner.user);
      expect((await b.holderOf('t', plugin))?.id).toBe(winner.id);
    }
  });

  it('takes over an expired session with one winner and reports the expiry once', async () => {
    const [b, c] = await nodes();
    const expired: string[] = [];
    b.startExpiry((s) => expired.push(`b:${s.user}`), 60_000);
    c.startExpiry((s) => expired.push(`c:${s.user}`), 60_000);
    await b.open('t', 'p', alice);
    now += 30_001;
    const results = await Promise.allSettled([b.open('t', 'p', bob), c.open('t', 'p', user(3))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatch(/:dev1$/);
    expect([...(await b.sweep()), ...(await c.sweep())]).toEqual([]);
    await b.stop();
    await c.stop();
  });

  it('expires a session one idle timeout (as at its last heartbeat) after it, once across nodes', async () => {
    const [b, c] = await nodes();
    settings.ttlMs = 120_000; // longer than any lease TTL: the bucket keeps it, the value says when it ends
    const s = await b.open('t', 'p', alice);
    settings.ttlMs = 10_000; // the policy changes: the next heartbeat uses it
    now += 60_000;
    expect([...(await b.sweep()), ...(await c.sweep())]).toEqual([]);
    await seenByAll('t', await c.heartbeat(s.id));
    now += 9_999;
    expect([...(await b.sweep()), ...(await c.sweep())]).toEqual([]);
    now += 1;
    const swept = await Promise.all([b.sweep(), c.sweep(), b.sweep(), c.sweep()]);
    expect(swept.flat().map((x) => x.id)).toEqual([s.id]);
    await expect(c.heartbeat(s.id)).rejects.toMatchObject({ code: 'DEV_SESSION_NOT_FOUND' });
    expect((await c.open('t', 'p', bob)).user).toBe('dev2');
  });

  it('counts the per-user limit across nodes, also for opens at once', async () => {
    const [b, c] = await nodes();
    settings.maxPerUser = 1;
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        b.open(`t${round}`, 'p1', alice),
        c.open(`t${round}`, 'p2', alice),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: string }>[];
      expect(won).toHaveLength(1);
      expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
        code: 'DEV_SESSION_LIMIT',
      });
      // Ending it (through the other node) frees the slot at once.
      expect(await c.end(won[0].value.id)).toBeDefined();
    }
    const s = await b.open('t', 'p', alice);
    await expect(c.open('t', 'q', alice)).rejects.toMatchObject({ code: 'DEV_SESSION_LIMIT', status: 429 });
    const other = await c.open('t', 'q', bob);
    await seenByAll('t', s);
    await seenByAll('t', other);
    // An expired session frees its slot, swept or not.
    now += 30_001;
    expect((await c.open('t', 'q2', alice)).user).toBe('dev1');
    expect((await b.sweep()).map((x) => x.id).sort()).toEqual([s.id, other.id].sort());
  });

  it('lives on when the node that opened it is gone', async () => {
    const [c, b] = await nodes(); // B is the second connection: the first one cleans the bucket up afterwards
    const s = await b.open('t', 'p', alice);
    await b.stop();
    await nats.nodes[1].close(); // like kill -9 of B: its connection is gone
    now += 20_000;
    expect((await c.heartbeat(s.id)).user).toBe('dev1');
    await expect(c.open('t', 'p', bob)).rejects.toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
  });
});
