import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevSession } from '@powerx/protocol';
import { FileDevSessions } from './dev-sessions.ts';

const alice = { userId: 'u1', username: 'alice', client: 'px-plugin dev on a (pid 1)' };
const bob = { userId: 'u2', username: 'bob', client: 'px-plugin dev on b (pid 2)' };
let tmp: string;
/** The sessions' clock: time moves only when a test moves it, however loaded the machine is. */
let now: number;
const clock = () => now;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'px-sessions-'));
  now = Date.parse('2026-01-01T00:00:00Z');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('FileDevSessions', () => {
  it('allows one session per tenant and plugin and names the holder to the second', async () => {
    const sessions = new FileDevSessions(join(tmp, 's.json'), 10_000, clock);
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

  it('expires a session without heartbeats exactly at its ttl and reports it once', async () => {
    const sessions = new FileDevSessions(join(tmp, 's.json'), 50, clock);
    const s = await sessions.open('t', 'p', alice);
    now += 49;
    expect(sessions.sweep()).toEqual([]);
    expect((await sessions.holderOf('t', 'p'))?.id).toBe(s.id);
    now += 1;
    expect(sessions.sweep().map((x) => x.user)).toEqual(['alice']);
    expect(sessions.sweep()).toEqual([]);
    await expect(sessions.heartbeat(s.id)).rejects.toMatchObject({ code: 'DEV_SESSION_NOT_FOUND' });
    expect((await sessions.open('t', 'p', bob)).user).toBe('bob');
    await sessions.stop();
  });

  it('heartbeats move the expiry one ttl past the last one', async () => {
    const sessions = new FileDevSessions(join(tmp, 's.json'), 50, clock);
    const s = await sessions.open('t', 'p', alice);
    for (let i = 0; i < 10; i++) {
      now += 40;
      expect(sessions.sweep()).toEqual([]);
      expect((await sessions.heartbeat(s.id)).expiresAt).toBe(new Date(now + 50).toISOString());
    }
    await expect(sessions.open('t', 'p', bob)).rejects.toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
    await sessions.stop();
  });

  it('reports a session that someone else took over after its expiry, once', async () => {
    const sessions = new FileDevSessions(join(tmp, 's.json'), 50, clock);
    await sessions.open('t', 'p', alice);
    now += 60;
    expect((await sessions.open('t', 'p', bob)).user).toBe('bob');
    expect(sessions.sweep().map((x) => x.user)).toEqual(['alice']);
    expect(sessions.sweep()).toEqual([]);
    await sessions.stop();
  });

  it('runs the sweep on its expiry timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const sessions = new FileDevSessions(join(tmp, 's.json'), 50, clock);
      const expired: DevSession[] = [];
      await sessions.open('t', 'p', alice);
      sessions.startExpiry((s) => expired.push(s), 20);
      now += 60;
      await vi.advanceTimersByTimeAsync(20);
      expect(expired.map((s) => s.user)).toEqual(['alice']);
      await vi.advanceTimersByTimeAsync(200);
      expect(expired).toHaveLength(1);
      await sessions.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('survives a restart: sessions are read back with a fresh ttl', async () => {
    const file = join(tmp, 's.json');
    const first = new FileDevSessions(file, 10_000, clock);
    const s = await first.open('t', 'p', alice);
    await first.stop();
    now += 60_000; // down for longer than the ttl
    const second = new FileDevSessions(file, 10_000, clock);
    await second.load();
    expect((await second.heartbeat(s.id)).user).toBe('alice');
    await expect(second.open('t', 'p', bob)).rejects.toMatchObject({ code: 'DEV_SESSION_CONFLICT' });
    await second.stop();
  });

  it('limits the sessions one user holds and reads ttl and limit at each use', async () => {
    const settings = { ttlMs: 10_000, maxPerUser: 2 };
    const sessions = new FileDevSessions(join(tmp, 's.json'), () => settings, clock);
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
