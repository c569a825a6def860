/**
 * After a crash of core, a plugin process of the dead core may still run. Core knows its pid from
 * the install row; only the runtime knows how to tell that the pid is still one of its plugins.
 */
import { readFileSync } from 'node:fs';

/** Wrappers between a plugin and the process whose command line names the run folder (bwrap → init → bwrap → plugin). */
const MAX_ANCESTORS = 4;

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

function parent(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * Kills `pid` if it is a process started from `runDir` — itself, or inside a sandbox whose
 * wrapper names the run folder (a sandboxed plugin only sees its own paths): a pid the kernel
 * recycled belongs to someone else and is left alone.
 */
export function killLeftoverPlugin(pid: number, runDir: string): boolean {
  try {
    let current = pid;
    for (let i = 0; i <= MAX_ANCESTORS && current > 1; i++, current = parent(current)) {
      if (!cmdline(current).includes(runDir)) continue;
      process.kill(pid, 'SIGKILL');
      return true;
    }
    return false;
  } catch {
    return false; // gone already
  }
}
