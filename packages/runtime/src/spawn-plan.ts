/**
 * The exact command line of a plugin process. A pure function, so the sandbox flags can be read
 * and tested in one place. Rules (ARCHITECTURE.md, "Runtime"):
 * - node plugins: `--permission`, read access to the runner bundle, the version folder and the
 *   data folder, write access to the data folder only; NEVER `--allow-net`, `--allow-child-process`,
 *   `--allow-worker`, `--allow-addons`, `--allow-inspector`, `--allow-wasi`;
 * - `--max-old-space-size` from resources.memoryMb; `prlimit` (address space, CPU seconds, open
 *   files) and `unshare -rn` (no network namespace interfaces) when the host allows them;
 * - `unshare -rnp --fork --kill-child` (own PID namespace: no process.kill of core or neighbours)
 *   when the host allows it;
 * - a minimal environment built from nothing: no host variable leaks in. Config and secrets go
 *   over IPC (node) or a 0600 file named by PX_CONFIG_FILE (process), never the environment.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { IsolationReport, StartSpec } from './contract.ts';
import type { HostIsolation } from './isolation-probe.ts';
import { PID_NS_SHELL } from './find-namespace-pid.ts';

export interface SpawnPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  isolation: IsolationReport;
  /** Absolute path of the plugin entry inside the version folder. */
  entry: string;
}

/** V8 reserves ~1.3 GB of address space before running any code; the limit leaves room for it. */
export const ADDRESS_SPACE_BASE_MB = 1536;
/** The Node runtime itself takes this much of resources.memoryMb before the plugin's heap. */
export const RUNTIME_BASELINE_MB = 32;
/** RLIMIT_CPU backstop in CPU seconds; the sampled CPU share is the real quota. */
export const CPU_SECONDS_LIMIT = 6 * 3600;
export const OPEN_FILES_LIMIT = 256;

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

export function buildSpawnPlan(opts: {
  spec: StartSpec;
  nodePath: string;
  runnerPath: string;
  host: HostIsolation;
  /** process kind: where the executable must serve HTTP, and its config file. */
  socketPath?: string;
  configFile?: string;
}): SpawnPlan {
  const { spec, host } = opts;
  const { runtime, resources } = spec.manifest;
  const entry = resolveInside(spec.versionDir, runtime.entry);
  if (!entry) throw new Error(`runtime.entry "${runtime.entry}" escapes the version folder`);
  const notes: string[] = [...host.notes];
  const wrap: string[] = [];
  // With a PID namespace the plugin is a grandchild: unshare → sh (pid 1 inside) → plugin (see
  // find-namespace-pid.ts); the supervisor/broker look up its host pid after the spawn.
  if (host.unshare && host.pidNamespace)
    wrap.push(host.unshare, '-rnp', '--fork', '--kill-child=SIGKILL', ...PID_NS_SHELL);
  else if (host.unshare) wrap.push(host.unshare, '-rn');
  if (host.prlimit) {
    const asBytes = (ADDRESS_SPACE_BASE_MB + 2 * resources.memoryMb) * 1024 * 1024;
    // --fsize: no single file may outgrow the disk quota between two samples of the data folder
    // (a node plugin's write past it fails with EFBIG, Node ignores SIGXFSZ; an executable that
    // does not ignore it dies of SIGXFSZ, reported as QUOTA_DISK).
    const fsizeBytes = resources.diskMb * 1024 * 1024;
    wrap.push(
      host.prlimit,
      `--as=${asBytes}`,
      `--cpu=${CPU_SECONDS_LIMIT}`,
      `--nofile=${OPEN_FILES_LIMIT}`,
      `--fsize=${fsizeBytes}`,
      '--',
    );
  }
  const env: Record<string, string> = { LANG: 'C.UTF-8', TZ: 'UTC', PX_INSTANCE: '1' };

  let program: string;
  let programArgs: string[];
  let permissionModel = false;
  if (runtime.kind === 'node') {
    permissionModel = true;
    program = opts.nodePath;
    programArgs = [
      '--permission',
      `--allow-fs-read=${opts.runnerPath}`,
      `--allow-fs-read=${spec.versionDir}`,
      `--allow-fs-read=${spec.dataDir}`,
      `--allow-fs-write=${spec.dataDir}`,
      `--max-old-space-size=${heapLimitMb(resources.memoryMb)}`,
      '--max-semi-space-size=2',
      // Maglev after 800 calls instead of V8's 400: start-up code (called 400–800 times) is then
      // never Maglev-compiled, which keeps ~2 MB of compiler pages of the node binary out of an
      // idle instance's RSS (measured: 49.6 → 47.6 MB idle, 54.3 → 54.5 MB after 300 requests).
      // Hot request paths still reach Maglev and TurboFan (3000 calls, unchanged).
      '--invocation-count-for-maglev=800',
      '--disable-proto=delete',
      '--no-addons',
      opts.runnerPath,
    ];
  } else {
    program = entry;
    programArgs = runtime.args.map((a) => a.replaceAll('{socket}', opts.socketPath ?? ''));
    env.PATH = '/usr/local/bin:/usr/bin:/bin';
    env.HOME = spec.dataDir;
    env.PX_SOCKET = opts.socketPath ?? '';
    env.PX_DATA_DIR = spec.dataDir;
    if (opts.configFile) env.PX_CONFIG_FILE = opts.configFile;
    notes.push(
      'runtime.kind process: no Node permission model; the executable can read whatever the core user can read',
    );
  }
  const [command, ...rest] = wrap.length ? wrap : [program];
  const args = wrap.length ? [...rest, program, ...programArgs] : programArgs;
  const isolation: IsolationReport = {
    level: permissionModel ? 'node-permission' : host.unshare ? 'netns' : 'none',
    permissionModel,
    networkNamespace: Boolean(host.unshare),
    pidNamespace: Boolean(host.unshare && host.pidNamespace),
    prlimit: Boolean(host.prlimit),
    notes,
  };
  return { command, args, env, cwd: spec.dataDir, isolation, entry };
}
