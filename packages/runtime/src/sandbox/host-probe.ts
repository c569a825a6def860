/**
 * What this host lets us apply, probed once per process. Nothing is assumed: every instance
 * reports what it actually got, and the supervisor refuses to start plugins without bubblewrap
 * unless weak isolation was chosen explicitly.
 *
 * - bubblewrap (`bwrap`): the OS boundary. As root, an outer bwrap builds the file system and the
 *   mount/PID/network/IPC/UTS/cgroup namespaces with root's access, `setpriv` drops to the sandbox
 *   uid, and an inner bwrap adds the user namespace (see bwrap-args.ts). As a normal user, one bwrap.
 * - cgroups (v1 per controller, or v2): memory, CPU and pids limits per instance, when writable.
 * - loop-mounted ext4 images for the data folder: root, /dev/loop-control, mkfs.ext4, mount.
 * - the weak fallback tools (unshare, prlimit) for an explicit weak-isolation opt-in.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { arch } from 'node:os';

export type CgroupHost =
  { version: 1; roots: { memory: string; cpu: string; pids: string } } | { version: 2; root: string };

export interface HostIsolation {
  prlimit: string | undefined;
  unshare: string | undefined;
  /** `unshare -rnp --fork --kill-child` works (weak isolation only). */
  pidNamespace: boolean;
  /** bubblewrap, when a sandbox could really be built with it here. */
  bwrap?: string;
  /** Needed to leave root between the outer and the inner bwrap. */
  setpriv?: string;
  /** Core runs as root: the sandbox runs as the configured unprivileged uid/gid. */
  root?: boolean;
  cgroup?: CgroupHost;
  /** ext4 images on loop devices can be made and mounted. */
  loopDisk?: { mkfs: string; mount: string; umount: string };
  /** The classic seccomp filter of seccomp-bpf.ts fits this CPU architecture. */
  seccomp?: boolean;
  notes: string[];
}

let cached: HostIsolation | undefined;

export function which(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const path = `${dir}/${name}`;
    if (existsSync(path)) return path;
  }
  return undefined;
}

const ok = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 }).status === 0;

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function probeCgroups(): CgroupHost | undefined {
  const v1 = { memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu', pids: '/sys/fs/cgroup/pids' };
  if (Object.values(v1).every((d) => existsSync(`${d}/cgroup.procs`) && writable(d)))
    return { version: 1, roots: v1 };
  const root = '/sys/fs/cgroup';
  if (existsSync(`${root}/cgroup.controllers`) && writable(root)) {
    const available = readFileSync(`${root}/cgroup.controllers`, 'utf8');
    if (['memory', 'cpu', 'pids'].every((c) => available.includes(c))) return { version: 2, root };
  }
  return undefined;
}

/** Shared libraries a trusted binary needs (from ldd), so the sandbox can hold exactly those. */
export function sharedLibraries(binary: string): string[] {
  const out = spawnSync('ldd', [binary], { encoding: 'utf8', timeout: 5000 });
  if (out.status !== 0) return [];
  const libs = new Set<string>();
  for (const line of out.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs];
}

const libCache = new Map<string, string[]>();
export function librariesOf(binaries: string[]): string[] {
  const all = new Set<string>();
  for (const b of binaries) {
    const real = realpathSync(b);
    if (!libCache.has(real)) libCache.set(real, sharedLibraries(real));
    for (const lib of libCache.get(real)!) all.add(lib);
  }
  return [...all].sort();
}

function probeBwrap(root: boolean, setpriv: string | undefined, notes: string[]): string | undefined {
  const bwrap = which('bwrap');
  if (process.platform !== 'linux' || !bwrap) {
    notes.push('bubblewrap (bwrap) is not installed');
    return undefined;
  }
  const base = [
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
  ];
  base.push('--symlink', 'usr/bin', '/bin', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  const works = root
    ? Boolean(setpriv) &&
      ok(bwrap, [
        ...['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--die-with-parent', ...base],
        ...['--', setpriv!, '--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', '--'],
        ...[
          bwrap,
          '--unshare-user',
          '--disable-userns',
          '--cap-drop',
          'ALL',
          '--bind',
          '/',
          '/',
          '--',
          '/bin/true',
        ],
      ])
    : ok(bwrap, [
        '--unshare-all',
        '--unshare-user',
        '--disable-userns',
        '--cap-drop',
        'ALL',
        ...base,
        '/bin/true',
      ]);
  if (!works) {
    notes.push(
      root && !setpriv
        ? 'setpriv (util-linux) is missing: cannot leave root before the sandbox'
        : 'bwrap cannot create namespaces on this kernel (user namespaces disabled?)',
    );
    return undefined;
  }
  return bwrap;
}

export function probeHostIsolation(): HostIsolation {
  if (cached) return cached;
  const notes: string[] = [];
  const root = process.getuid?.() === 0;
  const prlimitPath = which('prlimit');
  const prlimit =
    prlimitPath && ok(prlimitPath, ['--nofile=256', '--', '/bin/true']) ? prlimitPath : undefined;
  if (!prlimit) notes.push('prlimit unavailable: no address-space, CPU-time or open-file limits');
  const unsharePath = which('unshare');
  const unshare =
    process.platform === 'linux' && unsharePath && ok(unsharePath, ['-rn', '/bin/true'])
      ? unsharePath
      : undefined;
  const pidNamespace =
    Boolean(unshare) && ok(unshare!, ['-rnp', '--fork', '--kill-child=SIGKILL', '/bin/sh', '-c', 'true']);
  const setpriv = which('setpriv');
  const bwrap = probeBwrap(root, setpriv, notes);
  const cgroup = root ? probeCgroups() : undefined;
  if (!cgroup)
    notes.push('no writable cgroup hierarchy: memory, CPU and pids are sampled, not enforced by the kernel');
  const mkfs = which('mkfs.ext4');
  const mount = which('mount');
  const umount = which('umount');
  const loopDisk =
    root && mkfs && mount && umount && existsSync('/dev/loop-control') ? { mkfs, mount, umount } : undefined;
  if (!loopDisk)
    notes.push('no loop-mounted disk images (needs root, /dev/loop-control, mkfs.ext4): disk use is sampled');
  const seccomp = arch() === 'x64';
  if (!seccomp) notes.push(`no seccomp filter for CPU architecture ${arch()}`);
  cached = { prlimit, unshare, pidNamespace, bwrap, setpriv, root, cgroup, loopDisk, seccomp, notes };
  return cached;
}
