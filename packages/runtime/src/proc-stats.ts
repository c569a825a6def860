/** Resource readings of a plugin process from /proc, and the size of its data folder. */
import { readFile, readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** VmRSS: everything resident, including the Node binary's file pages shared by all instances. */
  rssMb: number;
  /** RssAnon + RssShmem: resident memory this process alone owns (what the memory quota checks). */
  privateMb: number;
  /** utime + stime in seconds. */
  cpuSeconds: number;
  at: number;
}

export async function sampleProcess(pid: number): Promise<ProcSample | undefined> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      rssMb: kb('VmRSS') / 1024,
      privateMb: (kb('RssAnon') + kb('RssShmem')) / 1024,
      cpuSeconds: ticks / TICKS_PER_SECOND,
      at: performance.now(),
    };
  } catch {
    return undefined;
  }
}

/** Proportional set size (shared pages split among their users), for the bench. */
export async function pssMb(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0) / 1024;
  } catch {
    return undefined;
  }
}

export function cpuPercent(previous: ProcSample, current: ProcSample): number {
  const wall = (current.at - previous.at) / 1000;
  return wall > 0 ? Math.max(0, ((current.cpuSeconds - previous.cpuSeconds) / wall) * 100) : 0;
}

/** Bytes under a folder (no links followed). Stops counting after `maxEntries` to bound the cost. */
export async function folderBytes(dir: string, maxEntries = 100_000): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length && seen < maxEntries) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      seen++;
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) {
        try {
          total += (await lstat(path)).blocks * 512;
        } catch {
          // removed meanwhile
        }
      }
    }
  }
  return total;
}
