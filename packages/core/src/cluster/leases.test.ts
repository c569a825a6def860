import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNats } from './test-nats.ts';
import { LeaseTable, leaseKey, type LeaseValue } from './leases.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
const tables: LeaseTable[] = [];

beforeEach(async () => {
  nats = await openTestNats(3, { leaseTtlMs: 1500 });
});
afterEach(async () => {
  for (const t of tables.splice(0)) await t.stop();
  await nats.close();
});

async function table(
  i: number,
  onLost?: (key: string, now: LeaseValue | undefined, expired: boolean) => void,
  ttlMs?: number,
) {
  const t = new LeaseTable(nats.nodes[i].leases, {
    nodeId: `node-${i}`,
    url: () => `http://127.0.0.1:${9000 + i}`,
    renewMs: 300,
    ttlMs,
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

  it('replaces the lease of a gone holder only at the revision read before asking', async () => {
    const a = await table(0);
    const b = await table(1);
    const c = await table(2);
    await a.acquire(key, 'ready');
    const read = (await b.read(key))!;
    expect(read.value.node).toBe('node-0');
    await a.stop(); // gone: no more renewals, but its lease is still there for a TTL
    // Two survivors found it gone at the same revision: exactly one of them gets it.
    const won = await Promise.all([
      b.replace(key, read.revision, 'starting'),
      c.replace(key, read.revision, 'starting'),
    ]);
    expect(won.filter(Boolean)).toHaveLength(1);
    expect((await b.refresh(key))?.state).toBe('starting');
  });

  it('does not replace a lease its holder renewed after it was read (the holder was alive)', async () => {
    const a = await table(0);
    const b = await table(1);
    await a.acquire(key, 'ready');
    const read = (await b.read(key))!;
    await until(async () => (await b.read(key))!.revision > read.revision); // a renewal
    expect(await b.replace(key, read.revision, 'starting')).toBe(false);
    expect((await b.refresh(key))?.node).toBe('node-0');
    expect(a.holds(key)).toBe(true);
  });

  it('gives a lease back to the node that offered it', async () => {
    const a = await table(0);
    const b = await table(1);
    await a.acquire(key, 'handover');
    const offered = (await b.read(key))!;
    expect(await b.replace(key, offered.revision, 'starting', offered.value.url)).toBe(true);
    expect(await b.giveBack(key, offered.value)).toBe(true);
    expect(b.holds(key)).toBe(false);
    expect(await b.refresh(key)).toMatchObject({ node: 'node-0', state: 'handover' });
  });

  it('reports a lease lost as expired once it could not be renewed for a TTL (cut off from NATS)', async () => {
    const lost: Array<[string, boolean]> = [];
    const a = await table(0, (k, _now, expired) => lost.push([k, expired]), 1500);
    await a.acquire(key, 'ready');
    await nats.nodes[0].nc.close();
    const cutAt = Date.now();
    await until(() => lost.length > 0, 6000);
    expect(lost).toEqual([[key, true]]);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(1000);
    expect(a.holds(key)).toBe(false);
  });

  it('encodes any tenant or plugin id into a valid key', () => {
    expect(leaseKey('serve', 'a b', '*>')).toMatch(/^[-/_=.A-Za-z0-9]+$/);
    expect(leaseKey('serve', 'a.b', 'c')).not.toBe(leaseKey('serve', 'a', 'b.c'));
  });
});
