/**
 * A short run of the chaos harness in cluster mode (`npm run chaos -- --cluster` does the long one
 * by hand): three real core nodes on PostgreSQL and NATS; during an install, upgrade, dev reload,
 * rollback or uninstall through one node, a node (the one running it, the plugin's lease holder or
 * a bystander) is killed with SIGKILL and started again, and every cluster check must pass once
 * the cluster settles, within the harness's stated bound.
 */
import { describe, expect, it } from 'vitest';
import { runClusterChaos, SETTLE_BOUND_MS } from '../../../scripts/chaos/chaos-cluster.ts';

/** Chosen so that the trials cover every operation and every kind of killed node. */
const SEED = 2;
const TRIALS = 5;

describe('chaos in a cluster (short run)', () => {
  it('after kill -9 of a random node at random moments of every kind of operation, the cluster settles consistent every time', async () => {
    const lines: string[] = [];
    const result = await runClusterChaos({ trials: TRIALS, seed: SEED, log: (l) => lines.push(l) });
    const failed = result.trials.filter((t) => t.problems.length);
    expect(
      failed.map(
        (t) =>
          `${t.operation} via ${t.via}, ${t.killed} (${t.role}) killed after ${t.killAfterMs} ms: ${t.problems.join('; ')}`,
      ),
      `${result.summary}\n${lines.join('\n')}\n(repeat with npm run chaos -- --cluster --trials ${TRIALS} --seed ${SEED})`,
    ).toEqual([]);
    expect(result.trials).toHaveLength(TRIALS);
    for (const t of result.trials) expect(t.settledMs).toBeLessThanOrEqual(SETTLE_BOUND_MS);
  }, 600_000);
});
