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
  if (prlimitPath && spawnSync(prlimitPath, ['--nofile=256', '--', '/bin/true'], { stdio: 'ignore', timeout: 5000 }).status === 0) prlimit = prlimitPath;
  else notes.push('prlimit unavailable: no address-space, CPU-time or open-file limits');
  const unsharePath = which('unshare');
  let unshare: string | undefined;
  if (process.platform === 'linux' && unsharePath && spawnSync(unsharePath, ['-rn', '/bin/true'], { stdio: 'ignore', timeout: 5000 }).status === 0) unshare = unsharePath;
  else notes.push('unshare -rn not permitted by this kernel: no network namespace');
  cached = { prlimit, unshare, notes };
  return cached;
}
