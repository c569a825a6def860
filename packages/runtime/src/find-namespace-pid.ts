/**
 * Finds the host pid of a plugin that runs in its own PID namespace, a few processes below the
 * one spawned. bubblewrap: bwrap (A) → its init, pid 1 inside → [as root: the inner bwrap] → the
 * plugin. Weak isolation: `unshare --fork` (A) → a tiny `/bin/sh` (pid 1 inside) → the plugin; the
 * `sh` turns a death by signal into exit code 128+N (util-linux 2.38 `unshare` itself reports every
 * signal death as code 1), as bwrap does. The plugin is not pid 1, so it gets SIGTERM like any
 * process. Quotas sample it and stop signals go to it, by its host pid, from the parent namespace.
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

/** Polls briefly (the forks and execs take a few ms); undefined if A exits first or 3 s pass. */
export async function findNamespacedPid(
  spawnedPid: number,
  isAlive: () => boolean,
  depth = 2,
): Promise<number | undefined> {
  for (let i = 0; i < 600 && isAlive(); i++) {
    let pid: number | undefined = spawnedPid;
    for (let d = 0; d < depth && pid !== undefined; d++) pid = firstChild(pid);
    // The intermediate processes exec (setpriv → bwrap): wait until the leaf is the plugin itself.
    if (pid !== undefined && firstChild(pid) === undefined && isPlugin(pid)) return pid;
    await sleep(i < 100 ? 1 : 5);
  }
  return undefined;
}

/** Not one of the wrappers (bwrap, setpriv, the shell) that are still on their way to exec. */
function isPlugin(pid: number): boolean {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return comm !== 'bwrap' && comm !== 'setpriv';
  } catch {
    return false;
  }
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
