/**
 * For tests, benches and CI runs sharing one NATS server: a cluster connection under a random
 * prefix (`pxt<hex>`), so parallel runs never see each other's streams and buckets; `destroy`
 * deletes them all afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connectNatsCluster, type NatsCluster } from './nats-cluster.ts';

export const TEST_NATS_URL = process.env.PX_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** `base` defaults to $PX_TEST_NATS_PREFIX (CI sets its own) or "pxt". */
export function randomNatsPrefix(base = process.env.PX_TEST_NATS_PREFIX ?? 'pxt'): string {
  return `${base}${randomBytes(5).toString('hex')}`;
}

/** Several connections (one per simulated node) on one prefix. */
export async function openTestNats(
  nodes: number,
  opts: { prefix?: string; retentionDays?: number; leaseTtlMs?: number } = {},
): Promise<{ prefix: string; nodes: NatsCluster[]; close(): Promise<void> }> {
  const prefix = opts.prefix ?? randomNatsPrefix();
  const conns: NatsCluster[] = [];
  for (let i = 0; i < nodes; i++)
    conns.push(
      await connectNatsCluster({
        url: TEST_NATS_URL,
        prefix,
        retentionDays: opts.retentionDays ?? 7,
        leaseTtlMs: opts.leaseTtlMs ?? 3000,
        name: `test-node-${i}`,
      }),
    );
  return {
    prefix,
    nodes: conns,
    async close() {
      // Through a connection still open (a test may have closed some, like a killed node's).
      await conns.find((c) => !c.nc.isClosed())?.destroy();
      for (const c of conns) await c.close();
    },
  };
}
