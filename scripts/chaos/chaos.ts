/**
 * `npm run chaos -- --trials 50 [--seed N] [--max-delay-ms 2500] [--keep]`: kill -9 a real core at
 * random moments of install, upgrade, dev reload and uninstall, restart it, check consistency
 * (chaos-run.ts, chaos-checks.ts). With `--cluster`: three nodes on PostgreSQL and NATS, a random
 * node killed during operations through a random node (chaos-cluster.ts, chaos-cluster-checks.ts).
 * Ends with one summary line; exit code 1 on any inconsistency.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './chaos-run.ts';
import { runClusterChaos } from './chaos-cluster.ts';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    seed: { type: 'string' },
    'max-delay-ms': { type: 'string' },
    keep: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
  },
});
const result = await (values.cluster ? runClusterChaos : runChaos)({
  trials: Number(values.trials),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  ...(values['max-delay-ms'] ? { maxDelayMs: Number(values['max-delay-ms']) } : {}),
  keep: values.keep,
  log: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(`${result.summary}\n`);
process.exitCode = result.inconsistencies ? 1 : 0;
