/**
 * After a crash of core, a plugin process of the dead core may still run. Core knows its pid from
 * the install row; only the runtime knows how to tell that the pid is still one of its plugins.
 */
import { readFileSync } from 'node:fs';

/**
 * Kills `pid` if it is a process started from `runDir` (the runner bundle lives there): a pid the
 * kernel recycled belongs to someone else and is left alone.
 */
export function killLeftoverPlugin(pid: number, runDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    if (!cmdline.includes(runDir)) return false;
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // gone already
  }
}
