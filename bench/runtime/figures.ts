/**
 * Small pieces the runtime bench's measures share: how a figure is reported, medians, and what
 * /proc says about a process or the machine.
 */
import { readFile } from 'node:fs/promises';
import type { BenchResult } from '../run.ts';

/** One figure of the runtime suite. */
export function figure(
  name: string,
  value: number,
  unit: string,
  more: Partial<BenchResult> = {},
): BenchResult {
  return { suite: 'runtime', name, value, unit, ...more };
}

/** A figure whose goal is to stay within `times` its floor. */
export function withinFloor(
  name: string,
  value: number,
  unit: string,
  floor: number,
  times: number,
): BenchResult {
  return figure(name, value, unit, { floor, goal: `≤ ${times}× floor`, met: value <= times * floor });
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** CPU seconds (user + system) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function memAvailableMb(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Number(/MemAvailable:\s+(\d+)/.exec(text)?.[1] ?? 0) / 1024;
}

export async function procMb(pid: number, field: 'VmRSS' | 'Pss' | 'RssAnon' | 'RssShmem'): Promise<number> {
  const file = field === 'Pss' ? `/proc/${pid}/smaps_rollup` : `/proc/${pid}/status`;
  const text = await readFile(file, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
}

/** Private memory of a process: anonymous pages plus shared memory it holds. */
export async function privateMb(pid: number): Promise<number> {
  return (await procMb(pid, 'RssAnon')) + (await procMb(pid, 'RssShmem'));
}
