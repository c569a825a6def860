/**
 * A short run of the chaos harness (`npm run chaos` does the long one by hand): a real core is
 * killed with SIGKILL at random moments of install, upgrade, dev reload and uninstall, started
 * again, and every consistency check must pass after every restart.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../../scripts/chaos/chaos-run.ts';

describe('chaos (short run)', () => {
  it('after kill -9 at random moments of every kind of operation, core comes back consistent every time', async () => {
    const result = await runChaos({ trials: 4 });
    const failed = result.trials.filter((t) => t.problems.length);
    expect(
      failed.map((t) => `${t.operation} killed after ${t.killAfterMs} ms: ${t.problems.join('; ')}`),
      `${result.summary} (repeat with npm run chaos -- --trials 4 --seed ${result.seed})`,
    ).toEqual([]);
    expect(result.trials).toHaveLength(4);
  }, 300_000);
});
