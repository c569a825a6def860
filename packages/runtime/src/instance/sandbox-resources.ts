/**
 * What an instance holds on the host for its sandbox, from its first spawn to its release: the
 * cgroup, the data volume (ext4 image or sampled folder, owned by the sandbox uid), and for
 * process kind the socket folder and config file it sees at /run/px and /px/config.json.
 * Restarts reuse them; `releaseSandbox` returns them (unmount, rmdir), whatever happened.
 */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginRuntimeError } from '@powerx/protocol';
import { cgroupName, createCgroup } from '../sandbox/cgroups.ts';
import { acquireDataVolume } from '../sandbox/data-volume.ts';
import { librariesOf, probeHostIsolation, type HostIsolation } from '../sandbox/host-probe.ts';
import { seccompFilterX86_64 } from '../sandbox/seccomp-bpf.ts';
import type { ResolvedOptions } from './context.ts';
import type { Instance } from './instance.ts';

/** The host check every start runs first: no silent downgrade to weak isolation. */
export function requireIsolation(opts: ResolvedOptions): HostIsolation {
  const host = probeHostIsolation();
  if (!host.bwrap && !opts.sandbox.allowWeakIsolation)
    throw new PluginRuntimeError('ISOLATION_UNAVAILABLE', { detail: host.notes.join('; ') });
  return host;
}

/** The sandbox uid/gid when core is root; undefined otherwise (the plugin keeps core's user, mapped inside). */
export function sandboxOwner(
  host: HostIsolation,
  opts: ResolvedOptions,
): { uid: number; gid: number } | undefined {
  return host.bwrap && host.root ? { uid: opts.sandbox.uid, gid: opts.sandbox.gid } : undefined;
}

export async function prepareSandbox(
  inst: Instance,
  host: HostIsolation,
  opts: ResolvedOptions,
): Promise<void> {
  const { resources } = inst.spec.manifest;
  const owner = sandboxOwner(host, opts);
  if (owner) await makeReadableByOthers(inst.spec.versionDir);
  if (!inst.volume) {
    inst.volume = await acquireDataVolume({
      host,
      dataDir: inst.spec.dataDir,
      diskMb: resources.diskMb,
      owner,
      useImages: Boolean(host.bwrap) && opts.sandbox.diskImages,
    });
  }
  if (!inst.cgroup && host.cgroup && host.bwrap)
    inst.cgroup = await createCgroup(host.cgroup, cgroupName(opts.runDir, inst.info.id), resources);
  if (inst.cgroup) inst.oomKillsBefore = await inst.cgroup.oomKills();
  inst.throttledBefore = (await inst.cgroup?.throttledPeriods()) ?? 0;
  const { cgroup, volume } = inst;
  inst.info.isolation.cgroup = cgroup && {
    version: cgroup.version,
    dirs: cgroup.dirs,
    memoryBytes: cgroup.memoryBytes,
    cpuQuotaUs: cgroup.cpuQuotaUs,
    pidsMax: cgroup.pidsMax,
  };
  inst.info.isolation.disk = { mechanism: volume.kind, limitMb: resources.diskMb, maxFiles: volume.maxFiles };
}

/**
 * The sandbox uid is not core's user, so it reads the version folder (mounted read-only at
 * /plugin) through the "others" bits: core creates staging folders 0700 and a dev build keeps
 * the developer's modes. Core's data folder stays 0700, so this opens nothing to host users.
 */
async function makeReadableByOthers(dir: string): Promise<void> {
  const st = await lstat(dir);
  if (st.isSymbolicLink()) return;
  const wanted = st.isDirectory() || st.mode & 0o100 ? 0o005 : 0o004;
  if ((st.mode & wanted) !== wanted) await chmod(dir, (st.mode & 0o7777) | wanted);
  if (!st.isDirectory()) return;
  for (const name of await readdir(dir)) await makeReadableByOthers(join(dir, name));
}

/** process kind: the folder the executable creates its socket in, owned by the sandbox uid. */
export async function processSocketDir(
  inst: Instance,
  owner?: { uid: number; gid: number },
): Promise<string> {
  const dir = join(inst.info.socketPath, '..');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  if (owner) await chown(dir, owner.uid, owner.gid);
  return dir;
}

export async function writeConfigFile(
  path: string,
  content: object,
  owner?: { uid: number; gid: number },
): Promise<void> {
  await writeFile(path, JSON.stringify(content), { mode: 0o600 });
  if (owner) await chown(path, owner.uid, owner.gid);
}

export async function releaseSandbox(inst: Instance): Promise<void> {
  const { cgroup, volume } = inst;
  inst.cgroup = undefined;
  inst.volume = undefined;
  const errors: unknown[] = [];
  await cgroup?.remove().catch((e: unknown) => errors.push(e));
  await volume?.release().catch((e: unknown) => errors.push(e));
  for (const e of errors)
    inst.logs.write('runtime', 'error', `sandbox release: ${(e as Error).message ?? e}`);
}

/** The seccomp program as a file the spawner opens on fd 4 (written on each start: it is 400 bytes). */
export async function seccompProgram(runDir: string): Promise<string> {
  const dir = join(runDir, 'runner');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'seccomp-x64.bpf');
  if (!existsSync(file)) await writeFile(file, seccompFilterX86_64(), { mode: 0o444 });
  return file;
}

/** Trusted binaries whose libraries a node plugin's sandbox holds. */
export function nodeSandboxLibraries(nodePath: string, host: HostIsolation): string[] {
  return librariesOf([nodePath, ...(host.root && host.setpriv ? [host.setpriv, host.bwrap!] : [])]);
}

let systemDirs: Record<string, string> | undefined;
/** Host system folders a process-kind executable may need: real folders bound, usr-merge symlinks kept. */
export function processSystemDirs(): Record<string, string> {
  if (systemDirs) return systemDirs;
  const out: Record<string, string> = {};
  for (const path of ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32']) {
    if (!existsSync(path)) continue;
    out[path] = lstatSync(path).isSymbolicLink() ? readlinkSync(path) : 'dir';
  }
  systemDirs = out;
  return out;
}
