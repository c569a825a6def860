/**
 * `npm run bench`: runs every suite in bench/suites (or those named on the command line),
 * prints one table and writes bench/results.json. A suite default-exports
 * `async (ctx) => BenchResult[]`; it measures its own floor in the same run so that ratios
 * compare like with like on whatever machine runs them.
 */
import { readdir, writeFile, mkdir, rm } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export interface BenchResult {
  suite: string;
  name: string;
  value: number;
  unit: string;
  /** The reference measured in the same run (e.g. tar + openssl), same unit. */
  floor?: number;
  /** Goal as text, e.g. "≤ 1.2× floor". */
  goal?: string;
  /** Whether the goal was met, when it is checkable. */
  met?: boolean;
}

export interface BenchContext {
  /** A scratch folder for this suite, removed afterwards. */
  workDir: string;
  repoRoot: string;
  log(msg: string): void;
}

export type BenchSuite = (ctx: BenchContext) => Promise<BenchResult[]>;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(here);

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = (await readdir(join(here, 'suites'))).filter((f) => f.endsWith('.ts')).sort();
  const results: BenchResult[] = [];
  for (const file of files) {
    const name = file.replace(/\.ts$/, '');
    if (only.length && !only.includes(name)) continue;
    const workDir = join(here, '.work', name);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const suite = (await import(join(here, 'suites', file))).default as BenchSuite;
    const started = performance.now();
    process.stderr.write(`bench ${name} …\n`);
    try {
      results.push(...(await suite({ workDir, repoRoot, log: (m) => process.stderr.write(`  ${m}\n`) })));
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    process.stderr.write(`bench ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const rows = results.map((r) => [
    r.suite,
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    r.floor === undefined ? '' : `${fmt(r.floor)} ${r.unit}`,
    r.floor === undefined || r.floor === 0 ? '' : `${(r.value / r.floor).toFixed(2)}×`,
    r.goal ?? '',
    r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const header = ['suite', 'measure', 'value', 'floor', 'ratio', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  await writeFile(
    join(here, 'results.json'),
    JSON.stringify({ at: new Date().toISOString(), machine, results }, null, 2) + '\n',
  );
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

await main();
