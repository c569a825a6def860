/**
 * Kernel-enforced limits of one instance: a cgroup per instance (v1: one per controller, v2: one
 * with memory, cpu and pids), created before the spawn. The spawn wrapper writes its own pid into
 * `cgroup.procs` before it execs bubblewrap, so every process of the plugin starts inside.
 *
 * - memory: a hard limit (swap included where the kernel accounts it); the OOM killer of the
 *   cgroup ends only this plugin. The sampled QUOTA_MEMORY check (private memory > memoryMb)
 *   normally acts first; the hard limit leaves MEMORY_HEADROOM_MB above it for page cache and
 *   /tmp, so the kernel is the backstop, not the judge.
 * - cpu: CFS quota = cpuPercent of one CPU per period: the plugin is throttled, never above.
 * - pids: a fork bomb stops at PIDS_MAX tasks.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupHost } from './host-probe.ts';

export const MEMORY_HEADROOM_MB = 32;
export const PIDS_MAX = 64;
const CFS_PERIOD_US = 100_000;
const GROUP = 'powerx';

export interface CgroupLimits {
  memoryMb: number;
  cpuPercent: number;
}

export interface InstanceCgroup {
  version: 1 | 2;
  /** The folders whose cgroup.procs the spawn wrapper joins. */
  dirs: string[];
  memoryBytes: number;
  cpuQuotaUs: number;
  pidsMax: number;
  /** How many times the cgroup's OOM killer struck so far. */
  oomKills(): Promise<number>;
  /** How many CFS periods were throttled so far. */
  throttledPeriods(): Promise<number>;
  remove(): Promise<void>;
}

const numberIn = (text: string, key: string) =>
  Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
const read = (path: string) => readFile(path, 'utf8').catch(() => '');

async function removeDir(dir: string): Promise<void> {
  // The last process may still be leaving: rmdir answers EBUSY until the cgroup is empty.
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw error;
      await sleep(20);
    }
  }
}

/**
 * A cgroup's name: the instance id, then a tag of the run folder of the supervisor that made it.
 * Several cores (cluster nodes, test runs) can share a machine and its `powerx` cgroups; the tag
 * tells a core which leftovers there are its own (removeLeftoverCgroups).
 */
export function cgroupName(runDir: string, instanceId: string): string {
  return `${instanceId}-${runDirTag(runDir)}`;
}

function runDirTag(runDir: string): string {
  return createHash('sha256').update(runDir).digest('hex').slice(0, 12);
}

function groupDirs(host: CgroupHost): string[] {
  return host.version === 1
    ? Object.values(host.roots).map((root) => join(root, GROUP))
    : [join(host.root, GROUP)];
}

/**
 * Removes the cgroups a killed supervisor on the same run folder left behind, once empty (its
 * plugins exit when it dies). Only this run folder's: a cgroup another core has just made is
 * empty too until its plugin joins it. Call it before this supervisor starts anything. A cgroup
 * with a process in it is never removed (checked, and the kernel refuses the rmdir anyway).
 */
export async function removeLeftoverCgroups(host: CgroupHost, runDir: string): Promise<string[]> {
  const suffix = `-${runDirTag(runDir)}`;
  const removed: string[] = [];
  for (const group of groupDirs(host)) {
    const names = await readdir(group, { withFileTypes: true }).catch(() => []);
    for (const entry of names) {
      if (!entry.isDirectory() || !entry.name.endsWith(suffix)) continue;
      const dir = join(group, entry.name);
      if ((await read(join(dir, 'cgroup.procs'))).trim()) continue;
      try {
        await rmdir(dir);
        removed.push(dir);
      } catch {
        // a process joined meanwhile, or it went already
      }
    }
  }
  return removed;
}

export async function createCgroup(
  host: CgroupHost,
  id: string,
  limits: CgroupLimits,
): Promise<InstanceCgroup> {
  const memoryBytes = (limits.memoryMb + MEMORY_HEADROOM_MB) * 2 ** 20;
  const cpuQuotaUs = Math.max(1000, Math.round((limits.cpuPercent / 100) * CFS_PERIOD_US));
  if (host.version === 1) {
    const dirs = {
      memory: join(host.roots.memory, GROUP, id),
      cpu: join(host.roots.cpu, GROUP, id),
      pids: join(host.roots.pids, GROUP, id),
    };
    for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
    await writeFile(join(dirs.memory, 'memory.limit_in_bytes'), String(memoryBytes));
    // Without swap accounting the file is missing; the memory limit alone still holds.
    await writeFile(join(dirs.memory, 'memory.memsw.limit_in_bytes'), String(memoryBytes)).catch(
      () => undefined,
    );
    await writeFile(join(dirs.cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    await writeFile(join(dirs.cpu, 'cpu.cfs_quota_us'), String(cpuQuotaUs));
    await writeFile(join(dirs.pids, 'pids.max'), String(PIDS_MAX));
    return {
      version: 1,
      dirs: Object.values(dirs),
      memoryBytes,
      cpuQuotaUs,
      pidsMax: PIDS_MAX,
      oomKills: async () => numberIn(await read(join(dirs.memory, 'memory.oom_control')), 'oom_kill'),
      throttledPeriods: async () => numberIn(await read(join(dirs.cpu, 'cpu.stat')), 'nr_throttled'),
      remove: async () => {
        for (const dir of Object.values(dirs)) await removeDir(dir);
      },
    };
  }
  const parent = join(host.root, GROUP);
  await mkdir(parent, { recursive: true });
  // Controllers must be enabled on the way down; the parent holds no process itself.
  await writeFile(join(host.root, 'cgroup.subtree_control'), '+memory +cpu +pids').catch(() => undefined);
  await writeFile(join(parent, 'cgroup.subtree_control'), '+memory +cpu +pids');
  const dir = join(parent, id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'memory.max'), String(memoryBytes));
  await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
  await writeFile(join(dir, 'cpu.max'), `${cpuQuotaUs} ${CFS_PERIOD_US}`);
  await writeFile(join(dir, 'pids.max'), String(PIDS_MAX));
  return {
    version: 2,
    dirs: [dir],
    memoryBytes,
    cpuQuotaUs,
    pidsMax: PIDS_MAX,
    oomKills: async () => numberIn(await read(join(dir, 'memory.events')), 'oom_kill'),
    throttledPeriods: async () => numberIn(await read(join(dir, 'cpu.stat')), 'nr_throttled'),
    remove: () => removeDir(dir),
  };
}

/** The spawn wrapper: join every cgroup given, then exec the rest of the command line. */
export const CGROUP_JOIN_SHELL = [
  '/bin/sh',
  '-c',
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; n=$((n-1)); done; exec "$@"',
  'px-cgroup',
];
