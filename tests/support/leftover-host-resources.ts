/**
 * Vitest global setup: unmounts the plugin data volumes (loop-mounted ext4 images) that tests left
 * under the temp folder, and removes empty plugin cgroups. Tests that kill core with SIGKILL, move a data folder or stop a cluster
 * node leave the plugin's mount behind on purpose (that is what they test); the kernel keeps the
 * loop device until it is unmounted, and a machine has only a few dozen of them, so a run must
 * not start short of loop devices because an earlier run leaked them.
 *
 * A mount is stale when no process names its test folder (/tmp/<folder>), works inside it or
 * holds a file in it open: other test runs on the same machine keep theirs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

function loopMountsUnder(root: string): string[] {
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0) continue;
    const point = decode(fields[4] ?? '');
    if (
      fields[sep + 1] === 'ext4' &&
      fields[sep + 2]?.startsWith('/dev/loop') &&
      point.startsWith(`${root}/`)
    )
      points.push(point);
  }
  return points.sort((a, b) => b.length - a.length);
}

/**
 * Whether a live process uses the test folder: names it in its command line or environment (a
 * core child process, a plugin), works in it, or holds a file in it open (a core running inside
 * a test worker holds its SQLite file; between mounting a plugin's volume and starting the
 * plugin, nothing else may name the folder, and another run's set-up must not unmount it then).
 */
function referenced(folder: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`).includes(folder)) return true;
      if (readFileSync(`/proc/${pid}/environ`).includes(folder)) return true;
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(folder)) return true;
      for (const fd of readdirSync(`/proc/${pid}/fd`))
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${folder}/`)) return true;
    } catch {
      // the process ended meanwhile, or is not ours to read
    }
  }
  return false;
}

export function releaseStaleDataVolumes(): string[] {
  const root = tmpdir();
  const released: string[] = [];
  for (const point of loopMountsUnder(root)) {
    const folder = `${root}/${point.slice(root.length + 1).split('/')[0]}`;
    if (referenced(folder)) continue;
    try {
      execFileSync('umount', [point], { stdio: 'ignore' });
      released.push(point);
    } catch {
      // busy after all: leave it to the next run
    }
  }
  return released;
}

/**
 * Plugin cgroups of cores that were killed stay behind empty (a core that starts again removes its
 * own; a killed core a test never restarts does not). The kernel refuses to remove a cgroup that
 * still holds a process, so removing the empty ones cannot touch a running plugin; only those
 * older than CGROUP_MIN_AGE_MS go: a young empty one may be another run's, made a moment ago
 * for a plugin about to join it, or a leftover a test of that run is looking at.
 */
const CGROUP_MIN_AGE_MS = 10 * 60_000;

function removeEmptyPluginCgroups(): number {
  let removed = 0;
  let controllers: string[];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return 0;
  }
  for (const controller of controllers) {
    const group = `/sys/fs/cgroup/${controller}/powerx`;
    let names: string[];
    try {
      names = readdirSync(group, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        if (Date.now() - statSync(`${group}/${name}`).mtimeMs < CGROUP_MIN_AGE_MS) continue;
        rmdirSync(`${group}/${name}`);
        removed++;
      } catch {
        // in use, or not ours to remove
      }
    }
  }
  return removed;
}

export function setup(): () => void {
  removeEmptyPluginCgroups();
  const before = releaseStaleDataVolumes();
  if (before.length) console.warn(`released ${before.length} data volume(s) an earlier run left mounted`);
  return () => {
    const after = releaseStaleDataVolumes();
    removeEmptyPluginCgroups();
    if (after.length) console.warn(`released ${after.length} data volume(s) this run left mounted`);
  };
}
