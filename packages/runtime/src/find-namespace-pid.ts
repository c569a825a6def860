/**
 * Finds the host pid of a plugin that runs in its own PID namespace. The spawned process is
 * `unshare --fork` (A); its child is a tiny `/bin/sh` (pid 1 inside, S) that runs the plugin (B,
 * pid 2 inside) and turns a death by signal into exit code 128+N (util-linux 2.38 `unshare` itself
 * reports every signal death as code 1). B is not pid 1, so it gets SIGTERM like any process.
 * Quotas sample B and stop signals go to B, by its host pid, from the parent namespace.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function firstChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls briefly (the fork and exec take a few ms); undefined if A exits first or 3 s pass. */
export async function findNamespacedPid(
  unsharePid: number,
  isAlive: () => boolean,
): Promise<number | undefined> {
  for (let i = 0; i < 600 && isAlive(); i++) {
    const shell = firstChild(unsharePid);
    const plugin = shell === undefined ? undefined : firstChild(shell);
    if (plugin !== undefined) return plugin;
    await sleep(i < 100 ? 1 : 5);
  }
  return undefined;
}

/** `sh` exits 128+N when the plugin died of signal N: turn that back into the signal. */
export function exitFromShell(
  code: number | null,
  signal: NodeJS.Signals | null,
  signals: Record<string, number>,
): { code: number | null; signal: NodeJS.Signals | null } {
  if (signal || code === null || code <= 128) return { code, signal };
  const name = Object.keys(signals).find((k) => signals[k] === code - 128);
  return name ? { code: null, signal: name as NodeJS.Signals } : { code, signal };
}

/** The wrapper between `unshare --fork` and the plugin command (see above). */
// dash exports PWD on its own: unset it, the plugin's environment stays exactly the plan's.
export const PID_NS_SHELL = ['/bin/sh', '-c', 'unset PWD; "$@"; exit $?', 'px-pidns'];
