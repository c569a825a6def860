/**
 * Cold start to healthy beside a bare `node -e 0` spawn, interleaved so that both see the same
 * machine state.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { StartSpec, Supervisor } from '@powerx/runtime';
import type { BenchContext, BenchResult } from '../run.ts';
import { median, withinFloor } from './figures.ts';

const COLD_RUNS = 15;

export async function bareSpawnMs(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: {} });
  await once(child, 'exit');
  return performance.now() - t0;
}

export async function measureColdStart(
  ctx: BenchContext,
  supervisor: Supervisor,
  spec: () => StartSpec,
): Promise<BenchResult[]> {
  const bare: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    bare.push(await bareSpawnMs());
    const t0 = performance.now();
    const info = await supervisor.start(spec());
    cold.push(performance.now() - t0);
    await supervisor.stop(info.id, { graceMs: 1000 });
  }
  const coldMs = median(cold);
  const bareMs = median(bare);
  ctx.log(
    `cold start median ${coldMs.toFixed(1)} ms (runs ${cold.map((v) => v.toFixed(0)).join(', ')}); bare node -e 0 median ${bareMs.toFixed(1)} ms`,
  );
  return [
    withinFloor('cold start to healthy, median (node -e 0 spawn as floor)', coldMs, 'ms', bareMs, 3),
    // Best of N on both sides: the intrinsic cost, least disturbed by whatever else the machine runs.
    withinFloor(
      'cold start to healthy, best of runs (same floor)',
      Math.min(...cold),
      'ms',
      Math.min(...bare),
      3,
    ),
  ];
}
