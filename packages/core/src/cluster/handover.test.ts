import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNats } from './test-nats.ts';
import { LeaseTable, leaseKey } from './leases.ts';
import { offerLeases, untilServedElsewhere } from './handover.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
const tables: LeaseTable[] = [];
const key = leaseKey('serve', 'sandbox-dev', 'com.x.hello');

beforeEach(async () => {
  nats = await openTestNats(2, { leaseTtlMs: 5000 });
});
afterEach(async () => {
  for (const t of tables.splice(0)) await t.stop();
  await nats.close();
});

async function table(i: number) {
  const t = new LeaseTable(nats.nodes[i].leases, {
    nodeId: `node-${i}`,
    url: () => `http://127.0.0.1:${9000 + i}`,
    renewMs: 300,
  });
  await t.start();
  tables.push(t);
  return t;
}

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** What placement.ts does when a lease comes back: hold it again, compare-and-set on what was read. */
async function reclaim(t: LeaseTable): Promise<boolean> {
  const lease = await t.read(key);
  return !!lease && lease.value.node === t.nodeId && t.replace(key, lease.revision, 'handover');
}

describe('handing a plugin over', () => {
  it('lets go only once the taker is ready, not while it is starting', async () => {
    const a = await table(0);
    const b = await table(1);
    await a.acquire(key, 'ready');
    const offered = offerLeases(a, [key], 20_000);
    const read = await (async () => {
      for (;;) {
        const r = await b.read(key);
        if (r?.value.state === 'handover') return r;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    expect(await b.replace(key, read.revision, 'starting', read.value.url)).toBe(true);
    await until(() => !a.holds(key)); // the giver learnt it lost the lease (placement calls on from there)
    let outcome: string | undefined;
    const waiting = untilServedElsewhere(a, key, () => reclaim(a)).then((o) => (outcome = o));
    await new Promise((res) => setTimeout(res, 500));
    expect(outcome).toBeUndefined(); // the taker is starting: the giver serves on
    expect(await b.set(key, 'ready')).toBe(true);
    await waiting;
    expect(outcome).toBe('taken');
    await offered; // the drain's wait ends too
  });

  it('keeps serving and holds the lease again when the taker gives it back', async () => {
    const a = await table(0);
    const b = await table(1);
    await a.acquire(key, 'handover');
    const read = (await b.read(key))!;
    expect(await b.replace(key, read.revision, 'starting', read.value.url)).toBe(true);
    await until(() => !a.holds(key));
    const waiting = untilServedElsewhere(a, key, () => reclaim(a));
    expect(await b.giveBack(key, read.value)).toBe(true); // its start failed
    expect(await waiting).toBe('kept');
    expect(a.holds(key)).toBe(true);
    expect(await b.refresh(key)).toMatchObject({ node: 'node-0', state: 'handover' });
  });
});
