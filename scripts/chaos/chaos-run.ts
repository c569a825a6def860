/**
 * The chaos harness: a real core (dev mode, embedded defaults) on one data folder, and N trials of
 * "start an operation on a plugin, kill -9 core at a random moment of it, start core again, check
 * everything" (chaos-checks.ts). Operations: install, upgrade, dev reload, uninstall of the hello
 * fixture, with the base fixture installed once as a bystander that must keep serving throughout.
 * Random moments come from a seeded generator, so a failing run can be repeated with --seed.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreComplaints, killCore, pluginProcesses, startChaosCore, unmountUnder } from './chaos-core.ts';
import { checkConsistency } from './chaos-checks.ts';
import {
  begin,
  packChaosFixtures,
  random,
  repoRoot,
  until,
  upload,
  type Operation,
} from './chaos-operations.ts';

export const OPERATIONS = ['install', 'upgrade', 'dev-reload', 'uninstall'] as const satisfies Operation[];

export interface ChaosOptions {
  trials: number;
  seed?: number;
  /** Longest wait before the kill, ms (the operations take about 0.3–3 s). */
  maxDelayMs?: number;
  log?: (line: string) => void;
  /** Keep the data folder (it is printed) instead of removing it. */
  keep?: boolean;
}

export interface TrialResult {
  trial: number;
  operation: Operation;
  killAfterMs: number;
  problems: string[];
  /** Consistent but worth saying (a plugin recorded failed because it did not start). */
  notes: string[];
}

export interface ChaosResult {
  seed: number;
  trials: TrialResult[];
  inconsistencies: number;
  durationMs: number;
  summary: string;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rnd = random(seed);
  const log = opts.log ?? (() => {});
  const maxDelay = opts.maxDelayMs ?? 2500;
  const started = performance.now();
  const tmp = await mkdtemp(join(tmpdir(), 'px-chaos-'));
  const dataDir = join(tmp, 'data');
  const keysDir = join(tmp, 'keys');
  await mkdir(keysDir);
  const keys = join(repoRoot, 'packages/package-format/fixtures/keys');
  await copyFile(join(keys, 'test.pub.pem'), join(keysDir, 'test.pub.pem'));
  const pkgs = await packChaosFixtures(tmp);
  const coreOpts = { repoRoot, dataDir, keysDir, home: tmp };
  log(`chaos: seed ${seed}, data folder ${dataDir}`);

  const trials: TrialResult[] = [];
  let core = await startChaosCore(coreOpts);
  try {
    // The bystander; a health timeout on a loaded machine is retried, it is not what is tested.
    for (let attempt = 1; ; attempt++) {
      const base = await upload(core, '/api/plugins/install/local', pkgs.base, true);
      if (base.status === 200) break;
      if (attempt === 3) throw new Error(`installing the bystander failed: ${await base.text()}`);
    }
    for (let trial = 1; trial <= opts.trials; trial++) {
      const operation: Operation = OPERATIONS[Math.floor(rnd() * OPERATIONS.length)];
      // Skewed towards early moments, where an operation has the most half-done state.
      const killAfterMs = Math.round(rnd() ** 1.5 * maxDelay);
      const pending = await begin(core, operation, pkgs);
      pending.done.then(
        (r) => void r.body?.cancel().catch(() => {}),
        () => {},
      );
      await new Promise((r) => setTimeout(r, killAfterMs));
      await killCore(core);
      const problems: string[] = [];
      // Plugin processes and their brokers notice their supervisor is gone and exit by themselves.
      if (!(await until(async () => (await pluginProcesses(dataDir, true)).length === 0, 15_000)))
        problems.push(
          `plugin processes still alive 15 s after core died: ${await pluginProcesses(dataDir, true)}`,
        );
      core = await startChaosCore(coreOpts);
      const checked = await checkConsistency(dataDir, core.url, core.token);
      problems.push(...checked.problems);
      trials.push({ trial, operation, killAfterMs, problems, notes: checked.notes });
      if (problems.length) for (const c of coreComplaints(core).slice(0, 5)) log(`    core: ${c}`);
      log(
        `trial ${String(trial).padStart(3)}: ${operation.padEnd(10)} killed after ${String(killAfterMs).padStart(4)} ms: ${problems.length ? `${problems.length} problem(s)\n    ${problems.join('\n    ')}` : 'consistent'}${checked.notes.length ? ` (${checked.notes.join('; ')})` : ''}`,
      );
    }
  } finally {
    await killCore(core, 'SIGTERM');
    await until(async () => (await pluginProcesses(dataDir, true)).length === 0, 10_000);
    if (!opts.keep) {
      await unmountUnder(tmp);
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const inconsistencies = trials.filter((t) => t.problems.length).length;
  const durationMs = Math.round(performance.now() - started);
  const byOp = OPERATIONS.map((op) => `${op} ${trials.filter((t) => t.operation === op).length}`).join(', ');
  const notes = trials.filter((t) => t.notes.length).length;
  const summary = `chaos: ${trials.length} trials (${byOp}), ${inconsistencies} inconsistencies${notes ? ` (${notes} restart(s) with a plugin recorded failed, nothing of it running)` : ''}, seed ${seed}, ${(durationMs / 1000).toFixed(0)} s`;
  return { seed, trials, inconsistencies, durationMs, summary };
}
