/**
 * The exact command line of a plugin process. A pure function, so the sandbox can be read and
 * tested in one place (docs/architecture.md, "Runtime"):
 * - bubblewrap around every plugin, node and process kind (sandbox/bwrap-args.ts), as the
 *   sandbox uid when core is root, with the seccomp filter, joined to its cgroups first
 *   (sandbox/cgroups.ts) and under `prlimit` (open files, file size, CPU seconds, address space);
 * - node plugins: `--permission` as a second layer, reads of the runner, /plugin and /data,
 *   writes of /data only; NEVER `--allow-net`, `--allow-child-process`, `--allow-worker`,
 *   `--allow-addons`, `--allow-inspector`, `--allow-wasi`;
 * - weak isolation (no bubblewrap, only with the explicit opt-in): `unshare -rnp` as before, with
 *   host paths, and the report says so;
 * - an environment built from nothing. Config and secrets go over IPC (node) or a 0600 file named
 *   by PX_CONFIG_FILE (process), never the environment.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { IsolationReport, StartSpec } from './contract.ts';
import type { HostIsolation } from './sandbox/host-probe.ts';
import { PID_NS_SHELL } from './find-namespace-pid.ts';
import { bwrapCommand, INSIDE_ID, SANDBOX_PATHS } from './sandbox/bwrap-args.ts';
import { CGROUP_JOIN_SHELL } from './sandbox/cgroups.ts';

export interface SpawnPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  isolation: IsolationReport;
  /** Path of the plugin entry as the plugin process sees it. */
  entry: string;
  /** How the plugin sees its version folder and data folder. */
  versionDir: string;
  dataDir: string;
  /** process kind: the socket path the executable is told (PX_SOCKET). */
  socketInside?: string;
  /** Processes between the spawned one and the plugin (0: the spawned process is the plugin). */
  pidDepth: number;
  /** Give bwrap the seccomp program on fd 4. */
  seccomp: boolean;
}

/** V8 reserves ~1.3 GB of address space before running any code; the limit leaves room for it. */
export const ADDRESS_SPACE_BASE_MB = 1536;
/** The Node runtime itself takes this much of resources.memoryMb before the plugin's heap. */
export const RUNTIME_BASELINE_MB = 32;
/** RLIMIT_CPU backstop in CPU seconds; the CPU cgroup or the sampled CPU share is the real quota. */
export const CPU_SECONDS_LIMIT = 6 * 3600;
export const OPEN_FILES_LIMIT = 256;
/** The plugin's /tmp: at most this much, and never more than its disk quota. */
export const TMP_MAX_MB = 16;

export const FORBIDDEN_NODE_FLAGS = [
  '--allow-net',
  '--allow-child-process',
  '--allow-worker',
  '--allow-addons',
  '--allow-inspector',
  '--allow-wasi',
];

export function resolveInside(root: string, path: string): string | undefined {
  const full = resolve(root, path);
  const rel = relative(root, full);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : full;
}

export function heapLimitMb(memoryMb: number): number {
  return Math.max(16, memoryMb - RUNTIME_BASELINE_MB);
}

export interface SandboxSettings {
  /** Host uid/gid the plugin runs as when core is root. */
  uid: number;
  gid: number;
  /** Run without bubblewrap (unshare only) where it is missing. Never the default. */
  allowWeakIsolation: boolean;
}

export interface SpawnPlanInput {
  spec: StartSpec;
  nodePath: string;
  runnerPath: string;
  host: HostIsolation;
  sandbox: SandboxSettings;
  /** Shared libraries of node, setpriv and bwrap (node kind in bubblewrap). */
  libraries?: string[];
  /** Host system folders for process kind: path → 'dir' or a symlink target. */
  systemDirs?: Record<string, string>;
  /** cgroup folders the process joins before bubblewrap starts. */
  cgroupDirs?: string[];
  /** process kind: host folder where the executable creates its socket; its config file. */
  socketDir?: string;
  socketPath?: string;
  configFile?: string;
}

function prlimitArgs(host: HostIsolation, memoryMb: number, diskMb: number): string[] {
  if (!host.prlimit) return [];
  const asBytes = (ADDRESS_SPACE_BASE_MB + 2 * memoryMb) * 2 ** 20;
  // --fsize: no single file outgrows the disk quota (Node gets EFBIG; an executable that does not
  // ignore SIGXFSZ dies of it, reported as QUOTA_DISK).
  return [
    host.prlimit,
    `--as=${asBytes}`,
    `--cpu=${CPU_SECONDS_LIMIT}`,
    `--nofile=${OPEN_FILES_LIMIT}`,
    `--fsize=${diskMb * 2 ** 20}`,
    '--',
  ];
}

function nodeArgs(paths: { runner: string; plugin: string; data: string }, memoryMb: number): string[] {
  return [
    '--permission',
    `--allow-fs-read=${paths.runner}`,
    `--allow-fs-read=${paths.plugin}`,
    `--allow-fs-read=${paths.data}`,
    `--allow-fs-write=${paths.data}`,
    `--max-old-space-size=${heapLimitMb(memoryMb)}`,
    '--max-semi-space-size=2',
    // Maglev after 800 calls instead of V8's 400: start-up code is then never Maglev-compiled,
    // which keeps ~2 MB of compiler pages out of an idle instance (hot paths still get Maglev).
    '--invocation-count-for-maglev=800',
    '--disable-proto=delete',
    '--no-addons',
    paths.runner,
  ];
}

export function buildSpawnPlan(input: SpawnPlanInput): SpawnPlan {
  const { spec, host } = input;
  const { runtime, resources } = spec.manifest;
  const hostEntry = resolveInside(spec.versionDir, runtime.entry);
  if (!hostEntry) throw new Error(`runtime.entry "${runtime.entry}" escapes the version folder`);
  const sandboxed = Boolean(host.bwrap);
  const notes: string[] = [...host.notes];
  const inside = sandboxed
    ? {
        runner: SANDBOX_PATHS.runner,
        plugin: SANDBOX_PATHS.plugin,
        data: SANDBOX_PATHS.data,
        socket: SANDBOX_PATHS.socket,
        config: SANDBOX_PATHS.configFile,
        node: SANDBOX_PATHS.node,
      }
    : {
        runner: input.runnerPath,
        plugin: spec.versionDir,
        data: spec.dataDir,
        socket: input.socketPath ?? '',
        config: input.configFile ?? '',
        node: input.nodePath,
      };
  const entry = sandboxed ? resolve(inside.plugin, relative(spec.versionDir, hostEntry)) : hostEntry;

  const env: Record<string, string> = { LANG: 'C.UTF-8', TZ: 'UTC', PX_INSTANCE: '1' };
  let program: string;
  let programArgs: string[];
  if (runtime.kind === 'node') {
    program = inside.node;
    programArgs = nodeArgs(inside, resources.memoryMb);
  } else {
    program = entry;
    programArgs = runtime.args.map((a) => a.replaceAll('{socket}', inside.socket));
    env.PATH = '/usr/local/bin:/usr/bin:/bin';
    env.HOME = inside.data;
    env.PX_SOCKET = inside.socket;
    env.PX_DATA_DIR = inside.data;
    if (input.configFile) env.PX_CONFIG_FILE = inside.config;
    notes.push('runtime.kind process: no Node permission model inside the sandbox');
  }

  const limits = prlimitArgs(host, resources.memoryMb, resources.diskMb);
  const dropTo =
    host.root && host.setpriv
      ? { setpriv: host.setpriv, uid: input.sandbox.uid, gid: input.sandbox.gid }
      : undefined;
  let wrap: string[];
  let pidDepth: number;
  let isolation: IsolationReport;
  if (sandboxed) {
    const cgroupDirs = input.cgroupDirs ?? [];
    const join = cgroupDirs.length ? [...CGROUP_JOIN_SHELL, String(cgroupDirs.length), ...cgroupDirs] : [];
    const bw = bwrapCommand({
      kind: runtime.kind === 'node' ? 'node' : 'process',
      bwrap: host.bwrap!,
      dropTo,
      nodePath: input.nodePath,
      runnerPath: input.runnerPath,
      libraries: input.libraries ?? [],
      systemDirs: input.systemDirs ?? {},
      versionDir: spec.versionDir,
      dataDir: spec.dataDir,
      socketDir: input.socketDir,
      configFile: input.configFile,
      tmpBytes: Math.min(TMP_MAX_MB, resources.diskMb) * 2 ** 20,
      seccomp: Boolean(host.seccomp),
      env,
    });
    wrap = [...join, ...limits, ...bw.args];
    pidDepth = bw.depth;
    isolation = {
      level: 'bubblewrap',
      weak: false,
      namespaces: ['user', 'mount', 'pid', 'network', 'ipc', 'uts', 'cgroup'],
      uid: dropTo ? dropTo.uid : process.getuid?.(),
      gid: dropTo ? dropTo.gid : process.getgid?.(),
      uidInside: INSIDE_ID,
      seccomp: Boolean(host.seccomp),
      permissionModel: runtime.kind === 'node',
      networkNamespace: true,
      pidNamespace: true,
      prlimit: Boolean(host.prlimit),
      notes,
    };
  } else {
    // Weak isolation: only reached with the explicit opt-in (the supervisor checks).
    wrap = [];
    pidDepth = 0;
    if (host.unshare && host.pidNamespace) {
      wrap.push(host.unshare, '-rnp', '--fork', '--kill-child=SIGKILL', ...PID_NS_SHELL);
      pidDepth = 2;
    } else if (host.unshare) wrap.push(host.unshare, '-rn');
    wrap.push(...limits);
    notes.push(
      'WEAK ISOLATION (explicit opt-in): no bubblewrap — the plugin shares the host file system and runs as core’s user; Node’s permission model is the only file-system guard',
    );
    isolation = {
      level: runtime.kind === 'node' ? 'node-permission' : host.unshare ? 'netns' : 'none',
      weak: true,
      namespaces: host.unshare ? ['user', 'network', ...(host.pidNamespace ? ['pid'] : [])] : [],
      uid: process.getuid?.(),
      gid: process.getgid?.(),
      seccomp: false,
      permissionModel: runtime.kind === 'node',
      networkNamespace: Boolean(host.unshare),
      pidNamespace: Boolean(host.unshare && host.pidNamespace),
      prlimit: Boolean(host.prlimit),
      notes,
    };
  }
  const [command, ...rest] = wrap.length ? wrap : [program];
  const args = wrap.length ? [...rest, program, ...programArgs] : programArgs;
  return {
    command,
    args,
    env,
    cwd: sandboxed ? '/' : spec.dataDir,
    isolation,
    entry,
    versionDir: inside.plugin,
    dataDir: inside.data,
    socketInside: runtime.kind === 'process' ? inside.socket : undefined,
    pidDepth,
    seccomp: sandboxed && Boolean(host.seccomp),
  };
}
