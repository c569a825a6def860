/**
 * HTTP load from a separate process, so that the server under test (standing in for core) and
 * the client do not share an event loop: keep-alive connections, each sending requests one after
 * the other; the answer is throughput, latency percentiles and the generator's own CPU.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from './figures.ts';

const LOADGEN = `
import http from 'node:http';
const [target, connections, perConnection] = [JSON.parse(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies = [];
const one = () => new Promise((resolve, reject) => {
  const t0 = performance.now();
  http.get({ ...target, agent }, (res) => { res.resume(); res.on('end', () => { latencies.push(performance.now() - t0); resolve(res.statusCode); }); }).on('error', reject);
});
for (let i = 0; i < connections * 20; i++) await one(); // warm-up
latencies.length = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: connections }, async () => { for (let i = 0; i < perConnection; i++) { const s = await one(); if (s !== 200) throw new Error('status ' + s); } }));
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ rps: latencies.length / seconds, p99: latencies[Math.floor(latencies.length * 0.99)], p50: latencies[Math.floor(latencies.length / 2)], cpuUsPerRequest: (cpu.user + cpu.system) / latencies.length }));
agent.destroy();
`;

export type LoadResult = { rps: number; p99: number; p50: number; cpuUsPerRequest: number };
/** Where the load goes: `http.get` options (host and port, or a Unix socket) and a path. */
export type LoadTarget = { path: string } & ({ host: string; port: number } | { socketPath: string });
export type LoadGenerator = (
  target: LoadTarget,
  connections: number,
  perConnection: number,
) => Promise<LoadResult>;

/** Writes the generator script into `workDir` and returns a function that runs one load with it. */
export async function loadGenerator(workDir: string): Promise<LoadGenerator> {
  const script = join(workDir, 'loadgen.mjs');
  await writeFile(script, LOADGEN);
  return async (target, connections, perConnection) => {
    const child = spawn(
      process.execPath,
      [script, JSON.stringify(target), String(connections), String(perConnection)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`load generator exited with ${code}`);
    return JSON.parse(out) as LoadResult;
  };
}

/** Requests the generator sends for one load, its warm-up included. */
export function requestsOf(connections: number, perConnection: number): number {
  return connections * (perConnection + 20);
}

/** Runs every side once per round, in turn, so that all sides see the same machine state. */
export async function interleaved<Side extends string>(
  rounds: number,
  sides: Record<Side, () => Promise<LoadResult>>,
): Promise<Record<Side, LoadResult[]>> {
  const names = Object.keys(sides) as Side[];
  const runs = Object.fromEntries(names.map((name) => [name, [] as LoadResult[]])) as Record<
    Side,
    LoadResult[]
  >;
  for (let round = 0; round < rounds; round++) for (const name of names) runs[name].push(await sides[name]());
  return runs;
}

/** The median of each figure over the runs. */
export function medians(runs: LoadResult[]): LoadResult {
  return {
    rps: median(runs.map((r) => r.rps)),
    p99: median(runs.map((r) => r.p99)),
    p50: median(runs.map((r) => r.p50)),
    cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
  };
}

/** Runs `work` and returns the CPU µs per request this process spent meanwhile. */
export async function ownCpuPerRequest(work: () => Promise<unknown>, requests: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / requests;
}
