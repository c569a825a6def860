/**
 * The giving side of moving a plugin between live nodes (placement.ts has the taking side):
 * a node shutting down offers its leases (`handover`) and waits until other nodes serve them; a
 * node whose lease another node took keeps serving until the new holder is `ready`, so routers
 * always have someone to forward to — the zero-failure part of a drain, an upgrade elsewhere or
 * a dev reload through another node.
 */
import type { LeaseTable, LeaseValue } from './leases.ts';

/** Another node holds it and its instance is ready. */
export function servedElsewhere(holder: LeaseValue | undefined, nodeId: string): boolean {
  return !!holder && holder.node !== nodeId && holder.state === 'ready';
}

/**
 * Offers every key (`handover`) and waits until other nodes serve them all, or `timeoutMs`
 * passes (a taker whose plugin never comes up must not keep this node forever).
 */
export async function offerLeases(leases: LeaseTable, keys: string[], timeoutMs: number): Promise<void> {
  for (const key of keys) await leases.set(key, 'handover');
  const deadline = Date.now() + timeoutMs;
  let pending = keys;
  while (pending.length && Date.now() < deadline) {
    await sleep(100);
    // Read the bucket itself, not only the watched copy: a missed watch update must not keep
    // this node waiting for the whole timeout.
    const still: string[] = [];
    for (const key of pending)
      if (
        !servedElsewhere(leases.lookup(key), leases.nodeId) &&
        !servedElsewhere(await leases.refresh(key).catch(() => undefined), leases.nodeId)
      )
        still.push(key);
    pending = still;
  }
}

/**
 * After losing `key` to another node: resolves `taken` once the new holder is ready (or the
 * deadline passed), `kept` if the lease is this node's again. A lease that comes back (the
 * taker's start failed and it gave the lease back) or disappears (the taker died before it was
 * ready) is offered to `reclaim`, which holds it again if it can.
 */
export async function untilServedElsewhere(
  leases: LeaseTable,
  key: string,
  reclaim: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<'taken' | 'kept'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const holder = leases.lookup(key) ?? (await leases.refresh(key).catch(() => undefined));
    if (leases.holds(key)) return 'kept';
    if (servedElsewhere(holder, leases.nodeId) || Date.now() > deadline) return 'taken';
    if ((!holder || holder.node === leases.nodeId) && (await reclaim())) return 'kept';
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
