/**
 * The bubblewrap command line of one plugin process. Pure, so every mount and flag is read and
 * tested here.
 *
 * The file system is built from nothing: a tmpfs root (read-only once built) holding the runtime's
 * files read-only (node kind: the node binary at /px/node, its shared libraries and the runner
 * at /px/runner.cjs; process kind: the host's /usr, any executable may need any of it), the
 * version folder read-only at /plugin, the data folder read-write at /data, a size-capped /tmp, a
 * minimal /dev and the /proc of the plugin's own PID namespace. No /etc, no core data, no other
 * tenant, no host /proc.
 *
 * As root two bwraps run in a row. The outer one (root, no user namespace) does the mounts — it
 * must traverse core's 0700 folders to reach the version and data folders, which no unprivileged
 * process can — and unshares mount, PID, network, IPC, UTS and cgroup namespaces. `setpriv` then
 * drops to the sandbox uid/gid (no groups, no capabilities, no_new_privs), and the inner bwrap adds
 * the user namespace (uid 1000 inside = the sandbox uid outside), disables nested user namespaces,
 * drops every capability and loads the seccomp filter. As a normal user one bwrap does it all.
 */

import { dirname } from 'node:path';

export const SANDBOX_PATHS = {
  node: '/px/node',
  runner: '/px/runner.cjs',
  configFile: '/px/config.json',
  plugin: '/plugin',
  data: '/data',
  socketDir: '/run/px',
  socket: '/run/px/http.sock',
} as const;

/** uid and gid of the plugin inside its user namespace. */
export const INSIDE_ID = 1000;
/** The seccomp program arrives on this descriptor (0–2 stdio, 3 the IPC channel of node plugins). */
export const SECCOMP_FD = 4;

export interface BwrapInput {
  kind: 'node' | 'process';
  bwrap: string;
  /** Set when core is root: leave root for this uid/gid between the two bwraps. */
  dropTo?: { setpriv: string; uid: number; gid: number };
  nodePath: string;
  runnerPath: string;
  /** Shared libraries of the node binary, setpriv and bwrap (node kind only). */
  libraries: string[];
  /** Host system folders for process-kind executables, e.g. { '/usr': 'dir', '/bin': 'usr/bin' }. */
  systemDirs: Record<string, string>;
  versionDir: string;
  dataDir: string;
  /** process kind: host folder bound at /run/px (the executable creates its socket there), and its config file. */
  socketDir?: string;
  configFile?: string;
  tmpBytes: number;
  seccomp: boolean;
  env: Record<string, string>;
}

export interface BwrapCommand {
  /** bwrap and its arguments, up to and including the `--` before the program. */
  args: string[];
  /** Processes between the spawned bwrap and the plugin: its host pid is that many children down. */
  depth: number;
}

/** bwrap creates the parents of a bind 0700 (root's): make them 0755 so the sandbox uid can pass. */
function folders(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const path of paths)
    for (let d = dirname(path); d !== '/' && !dirs.has(d); d = dirname(d)) dirs.add(d);
  return [...dirs].sort().flatMap((d) => ['--perms', '0755', '--dir', d]);
}

function mounts(input: BwrapInput): string[] {
  const a: string[] = ['--tmpfs', '/'];
  if (input.kind === 'node') {
    const files = [...input.libraries, SANDBOX_PATHS.node];
    if (input.dropTo) files.push(input.dropTo.setpriv, input.bwrap);
    a.push(...folders(files));
    for (const lib of input.libraries) a.push('--ro-bind', lib, lib);
    a.push(
      '--ro-bind',
      input.nodePath,
      SANDBOX_PATHS.node,
      '--ro-bind',
      input.runnerPath,
      SANDBOX_PATHS.runner,
    );
    if (input.dropTo) a.push('--ro-bind', input.dropTo.setpriv, input.dropTo.setpriv);
    if (input.dropTo) a.push('--ro-bind', input.bwrap, input.bwrap);
  } else {
    for (const [path, target] of Object.entries(input.systemDirs))
      if (target === 'dir') a.push('--ro-bind', path, path);
      else a.push('--symlink', target, path);
    a.push(...folders([SANDBOX_PATHS.configFile, SANDBOX_PATHS.socket]));
    if (input.configFile) a.push('--ro-bind', input.configFile, SANDBOX_PATHS.configFile);
    if (input.socketDir) a.push('--bind', input.socketDir, SANDBOX_PATHS.socketDir);
  }
  a.push('--ro-bind', input.versionDir, SANDBOX_PATHS.plugin, '--bind', input.dataDir, SANDBOX_PATHS.data);
  a.push('--size', String(input.tmpBytes), '--tmpfs', '/tmp', '--dev', '/dev', '--proc', '/proc');
  a.push('--remount-ro', '/');
  return a;
}

function environment(env: Record<string, string>): string[] {
  const a = ['--clearenv'];
  for (const [k, v] of Object.entries(env)) a.push('--setenv', k, v);
  return a;
}

const COMMON = ['--die-with-parent', '--chdir', SANDBOX_PATHS.data];

function userNamespace(seccomp: boolean): string[] {
  const a = ['--unshare-user', '--disable-userns', '--uid', String(INSIDE_ID), '--gid', String(INSIDE_ID)];
  a.push('--cap-drop', 'ALL');
  if (seccomp) a.push('--seccomp', String(SECCOMP_FD));
  return a;
}

export function bwrapCommand(input: BwrapInput): BwrapCommand {
  const outerNamespaces = input.dropTo
    ? ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try']
    : ['--unshare-all'];
  const outer = [
    input.bwrap,
    ...outerNamespaces,
    '--new-session',
    '--hostname',
    'plugin',
    ...COMMON,
    ...mounts(input),
    // node kind: Node finds its IPC channel (fd 3) through these, and removes them from process.env.
    ...environment(
      input.kind === 'node'
        ? { ...input.env, NODE_CHANNEL_FD: '3', NODE_CHANNEL_SERIALIZATION_MODE: 'json' }
        : input.env,
    ),
  ];
  if (!input.dropTo) return { args: [...outer, ...userNamespace(input.seccomp), '--'], depth: 2 };
  const { setpriv, uid, gid } = input.dropTo;
  const drop = [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--no-new-privs'];
  drop.push('--bounding-set=-all', '--inh-caps=-all', '--');
  const inner = [input.bwrap, ...userNamespace(input.seccomp), ...COMMON, '--bind', '/', '/', '--'];
  // outer bwrap → its pid-1 init → setpriv, exec'd into the inner bwrap → the plugin.
  return { args: [...outer, '--', ...drop, ...inner], depth: 3 };
}
