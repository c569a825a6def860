import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNats } from './test-nats.ts';
import { LeaseTable, leaseKey, type LeaseValue } from './leases.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
const tables: LeaseTable[] = [];

beforeEach(async () => {
  nats = await openTestNats(2, { leaseTtlMs: 1500 });
});
afterEach(async () => {
  for (const t of tables.splice(0)) await t.stop();
  await nats.close();
});

async function table(i: number, onLost?: (key: string, now: LeaseValue | undefined) => void) {
  const t = new LeaseTable(nats.nodes[i].leases, {
    nodeId: `node-${i}`,
    url: () => `http://127.0.0.1:${9000 + i}`,
    renewMs: 300,
    onLost,
  });
  await t.start();
  tables.push(t);
  return t;
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

describe('leases', () => {
  const key = leaseKey('serve', 'sandbox-dev', 'com.x.hello');

  it('lets exactly one node hold a lease, and keeps it while it renews', async () => {
    const a = await table(0);
    const b = await table(1);
    const results = await Promise.all([a.acquire(key, 'ready'), b.acquire(key, 'ready')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [holder, other] = results[0] ? [a, b] : [b, a];
    await new Promise((r) => setTimeout(r, 2500)); // longer than the TTL: renewals keep it
    expect(await other.acquire(key, 'ready')).toBe(false);
    expect((await other.refresh(key))?.node).toBe(holder.nodeId);
  });

  it('frees the lease of a node that stops renewing after one TTL', async () => {
    const a = await table(0);
    const b = await table(1);
    expect(await a.acquire(key, 'ready')).toBe(true);
    await a.stop(); // like kill -9: no release, no renewals
    const stoppedAt = Date.now();
    await until(() => b.acquire(key, 'starting'));
    expect(b.holds(key)).toBe(true);
    expect(Date.now() - stoppedAt).toBeLessThan(4000);
  });

  it('tells the previous holder when another node takes the lease over', async () => {
    const lost: string[] = [];
    const a = await table(0, (k) => lost.push(k));
    const b = await table(1);
    await a.acquire(key, 'ready');
    expect(await b.steal(key, 'ready')).toBe(true);
    await until(() => lost.length > 0);
    expect(lost).toEqual([key]);
    expect(a.holds(key)).toBe(false);
    await until(() => a.lookup(key)?.node === 'node-1');
    expect(a.lookup(key)).toMatchObject({ node: 'node-1', url: 'http://127.0.0.1:9001', state: 'ready' });
  });

  it('encodes any tenant or plugin id into a valid key', () => {
    expect(leaseKey('serve', 'a b', '*>')).toMatch(/^[-/_=.A-Za-z0-9]+$/);
    expect(leaseKey('serve', 'a.b', 'c')).not.toBe(leaseKey('serve', 'a', 'b.c'));
  });
});
