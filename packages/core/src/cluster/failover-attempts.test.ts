import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../storage/test-databases.ts';
import { FAILOVER_ATTEMPTS, FAILOVER_BACKOFF_MS, FailoverAttempts } from './failover-attempts.ts';

let store: TestDatabase;

beforeEach(async () => {
  store = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await store.close();
});

/** Moves the recorded attempts `ms` into the past (instead of waiting out the backoff). */
async function age(ms: number): Promise<void> {
  const row = await store.db.selectFrom('failover_attempts').select('attempts').executeTakeFirstOrThrow();
  const attempts = (JSON.parse(row.attempts) as Array<{ node: string; at: string }>).map((a) => ({
    ...a,
    at: new Date(Date.parse(a.at) - ms).toISOString(),
  }));
  await store.db
    .updateTable('failover_attempts')
    .set({ attempts: JSON.stringify(attempts) })
    .execute();
}

describe('failover attempts', () => {
  it('leave the next attempt to a live node that has not tried, then back off, and end with a final attempt', async () => {
    const b = new FailoverAttempts(store.db, 'b');
    const c = new FailoverAttempts(store.db, 'c');
    expect(await b.decide('t', 'p', ['b', 'c'])).toBe('try');
    await b.failed('t', 'p');
    expect(await b.decide('t', 'p', ['b', 'c'])).toBe('wait');
    expect(await c.decide('t', 'p', ['b', 'c'])).toBe('try');
    await c.failed('t', 'p');
    // Everyone live has tried: the next one is the last, after the backoff.
    expect(await b.decide('t', 'p', ['b', 'c'])).toBe('wait');
    await age(FAILOVER_BACKOFF_MS * 2);
    expect(await b.decide('t', 'p', ['b', 'c'])).toBe('final');
    await b.failed('t', 'p');
    expect((await b.list('t', 'p')).map((a) => a.node)).toEqual(['b', 'c', 'b']);
    expect(FAILOVER_ATTEMPTS).toBe(3);
  });

  it('let a lone survivor retry after the backoff, and start over once the plugin serves', async () => {
    const b = new FailoverAttempts(store.db, 'b');
    await b.failed('t', 'p');
    expect(await b.decide('t', 'p', ['b'])).toBe('wait');
    await age(FAILOVER_BACKOFF_MS);
    expect(await b.decide('t', 'p', ['b'])).toBe('try');
    await b.clear('t', 'p');
    expect(await b.list('t', 'p')).toEqual([]);
    expect(await b.decide('t', 'p', ['b'])).toBe('try');
  });
});
