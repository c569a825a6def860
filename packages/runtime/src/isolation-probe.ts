/**
 * What this host lets us apply, probed once per process: `prlimit` (resource limits) and
 * `unshare -rn` (a new user + network namespace: no interface but a down loopback). Nothing is
 * assumed; every instance reports what it actually got.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface HostIsolation {
  prlimit: string | undefined;
  unshare: string | undefined;
  /** `unshare -rnp --fork --kill-child` works: each plugin gets its own PID namespace. */
  pidNamespace: boolean;
  notes: string[];
}

let cached: HostIsolation | undefined;

function which(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const path = `${dir}/${name}`;
    if (existsSync(path)) return path;
  }
  return undefined;
}

export function probeHostIsolation(): HostIsolation {
  if (cached) return cached;
  const notes: string[] = [];
  const prlimitPath = which('prlimit');
  let prlimit: string | undefined;
  if (
    prlimitPath &&
    spawnSync(prlimitPath, ['--nofile=256', '--', '/bin/true'], { stdio: 'ignore', timeout: 5000 }).status ===
      0
  )
    prlimit = prlimitPath;
  else notes.push('prlimit unavailable: no address-space, CPU-time or open-file limits');
  const unsharePath = which('unshare');
  let unshare: string | undefined;
  if (
    process.platform === 'linux' &&
    unsharePath &&
    spawnSync(unsharePath, ['-rn', '/bin/true'], { stdio: 'ignore', timeout: 5000 }).status === 0
  )
    unshare = unsharePath;
  else notes.push('unshare -rn not permitted by this kernel: no network namespace');
  // A plugin in its own PID namespace cannot see or signal core or its neighbours (process.kill
  // is not checked by Node's permission model). --kill-child: the namespace dies with unshare.
  const pidNamespace =
    Boolean(unshare) &&
    spawnSync(unshare!, ['-rnp', '--fork', '--kill-child=SIGKILL', '/bin/sh', '-c', 'true'], {
      stdio: 'ignore',
      timeout: 5000,
    }).status === 0;
  if (!pidNamespace)
    notes.push(
      'unshare -p not permitted by this kernel: no PID namespace (a plugin can signal other processes of the core user)',
    );
  cached = { prlimit, unshare, pidNamespace, notes };
  return cached;
}
