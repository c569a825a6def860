import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevSessions } from './dev-sessions.ts';

const alice = { userId: 'u1', username: 'alice', client: 'px-plugin dev on a (pid 1)' };
const bob = { userId: 'u2', username: 'bob', client: 'px-plugin dev on b (pid 2)' };
let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'px-sessions-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('DevSessions', () => {
  it('allows one session per tenant and plugin and names the holder to the second', async () => {
    const sessions = new DevSessions(join(tmp, 's.json'), 10_000);
    const s = await sessions.open('t', 'p', alice);
    await expect(sessions.open('t', 'p', bob)).rejects.toMatchObject({
      code: 'DEV_SESSION_CONFLICT',
      message: expect.stringContaining('alice (px-plugin dev on a (pid 1)'),
    });
    await expect(sessions.claim('t', 'p', bob)).rejects.toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
    expect((await sessions.claim('t', 'p', alice, s.id)).id).toBe(s.id);
    expect((await sessions.open('t', 'other', bob)).user).toBe('bob');
    await sessions.stop();
  });

  it('expires sessions without heartbeats after their ttl and reports them once', async () => {
    // Time is the subject: the clock and the expiry timer are fake, the file writes real.
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    try {
      const sessions = new DevSessions(join(tmp, 's.json'), 50);
      const expired: string[] = [];
      await sessions.open('t', 'p', alice);
      sessions.startExpiry((s) => expired.push(s.user), 20);
      await vi.advanceTimersByTimeAsync(40);
      expect(expired).toEqual([]);
      await vi.advanceTimersByTimeAsync(20);
      expect(expired).toEqual(['alice']);
      await vi.advanceTimersByTimeAsync(200);
      expect(expired).toEqual(['alice']);
      expect((await sessions.open('t', 'p', bob)).user).toBe('bob');
      await sessions.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('survives a restart: sessions are read back with a fresh ttl', async () => {
    const file = join(tmp, 's.json');
    const first = new DevSessions(file, 10_000);
    const s = await first.open('t', 'p', alice);
    await first.stop();
    const second = new DevSessions(file, 10_000);
    await second.load();
    expect(second.heartbeat(s.id).user).toBe('alice');
    await expect(second.open('t', 'p', bob)).rejects.toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
    await second.stop();
  });

  it('limits the sessions one user holds and reads ttl and limit at each use', async () => {
    const settings = { ttlMs: 10_000, maxPerUser: 2 };
    const sessions = new DevSessions(join(tmp, 's.json'), () => settings);
    await sessions.open('t', 'a', alice);
    await sessions.open('t', 'b', alice);
    await expect(sessions.open('t', 'c', alice)).rejects.toMatchObject({
      code: 'DEV_SESSION_LIMIT',
      status: 429,
    });
    expect((await sessions.open('t', 'c', bob)).user).toBe('bob');
    settings.maxPerUser = 3;
    settings.ttlMs = 60_000;
    const third = await sessions.open('t', 'c2', alice);
    expect(third.ttlMs).toBe(60_000);
    await sessions.stop();
  });
});
