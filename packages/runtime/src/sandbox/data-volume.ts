/**
 * The plugin's data folder and how its size is held.
 *
 * - `ext4-loop` (root, loop devices, mkfs.ext4): an ext4 image of resources.diskMb, kept at
 *   `<dataDir>/.px-disk.ext4` and loop-mounted over `<dataDir>` itself (the image stays reachable
 *   through the loop device while the mount hides it), owned by the sandbox uid. Writes past the
 *   size or the inode count fail with ENOSPC inside the plugin; nothing has to be sampled. Core's
 *   uninstall removes the folder, and with it the image, after the stop unmounted it. No journal
 *   (a 1 MB journal would take a small quota's space), no reserved blocks, nosuid, nodev.
 * - `sampled` elsewhere: the folder as it is, measured by walking it (allocated blocks of files
 *   and folders, no entry cap) against diskMb and a file-count limit.
 *
 * Two instances of one plugin (blue/green) share the data folder: the mount is counted and
 * unmounted by the last release. A mount left by a core that died is found and reused.
 */
import { spawn } from 'node:child_process';
import {
  chown,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostIsolation } from './host-probe.ts';
import { maxFilesFor } from '../policy/quota-breach.ts';

export const IMAGE_NAME = '.px-disk.ext4';

export interface DataVolume {
  kind: 'ext4-loop' | 'sampled';
  /** Files and folders the volume can hold (ext4: its inode count). */
  maxFiles: number;
  usage(): Promise<{ bytes: number; entries: number }>;
  /** No room left for data or for one more file (ext4 image only; sampled folders are judged by the sampler). */
  full(): Promise<boolean>;
  release(): Promise<void>;
}

/** Below this many free blocks an ext4 volume counts as full (a write of any size would fail). */
const FULL_BLOCKS = 16;

const mounted = new Map<string, { count: number; busy: Promise<unknown> }>();

function run(cmd: string, args: string[], okCodes = [0]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      okCodes.includes(code ?? -1)
        ? resolve()
        : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim() || `code ${code}`}`)),
    );
  });
}

/** Mount points as /proc/self/mountinfo writes them (octal escapes for space, tab, newline, backslash). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').some((line) => decode(line.split(' ')[4] ?? '') === dir);
}

/**
 * Allocated bytes and entries under a folder: files and folders, no links followed, no entry cap.
 * With `stopPast`, the walk ends as soon as either count is past it: the quota is breached
 * whatever the rest holds, and a walk cut short keeps a hostile writer's head start small.
 */
export async function folderUsage(
  dir: string,
  stopPast?: { bytes: number; entries: number },
): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const stack = [dir];
  const past = () => stopPast !== undefined && (bytes > stopPast.bytes || entries > stopPast.entries);
  while (stack.length && !past()) {
    const current = stack.pop()!;
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      continue;
    }
    for (const name of names) {
      if (past()) break;
      const path = join(current, name);
      try {
        const st = await lstat(path);
        entries++;
        bytes += st.blocks * 512;
        if (st.isDirectory()) stack.push(path);
      } catch {
        // removed meanwhile
      }
    }
  }
  return { bytes, entries };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  const top = await stat(dir);
  if (top.uid === uid && top.gid === gid) return;
  const stack = [dir];
  await chown(dir, uid, gid);
  while (stack.length) {
    const current = stack.pop()!;
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      await chown(path, uid, gid).catch(() => undefined);
      if (entry.isDirectory()) stack.push(path);
    }
  }
}

async function makeImage(
  mkfs: string,
  image: string,
  bytes: number,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  const file = await open(image, 'wx', 0o600);
  try {
    await file.truncate(bytes);
  } finally {
    await file.close();
  }
  const args = ['-q', '-F', '-m', '0', '-O', '^has_journal', '-b', '4096'];
  if (owner) args.push('-E', `root_owner=${owner.uid}:${owner.gid}`);
  await run(mkfs, [...args, image]);
}

/** Moves the entries of `dir` into a fresh sibling folder (same file system: renames); undefined when empty. */
async function moveAside(dir: string): Promise<string | undefined> {
  const names = (await readdir(dir)).filter((n) => n !== IMAGE_NAME);
  if (!names.length) return undefined;
  const aside = await mkdtemp(`${dir}.carried-`);
  for (const name of names) await rename(join(dir, name), join(aside, name));
  return aside;
}

/** A new version raised diskMb: grow the image (ext4 grows offline; a lower diskMb keeps the image as it is). */
async function growImage(mkfs: string, image: string, bytes: number): Promise<void> {
  const tools = dirname(mkfs);
  const file = await open(image, 'r+');
  try {
    await file.truncate(bytes);
  } finally {
    await file.close();
  }
  // e2fsck: 1 means it corrected something (the size it now sees), which is what we asked for.
  await run(join(tools, 'e2fsck'), ['-f', '-p', image], [0, 1]);
  await run(join(tools, 'resize2fs'), [image]);
}

async function unmount(umount: string, dir: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    try {
      await run(umount, [dir]);
      return;
    } catch (error) {
      if (!(await isMountPoint(dir))) return;
      if (i === 19) throw error;
      await sleep(50);
    }
  }
}

export async function acquireDataVolume(opts: {
  host: HostIsolation;
  dataDir: string;
  diskMb: number;
  owner?: { uid: number; gid: number };
  useImages: boolean;
}): Promise<DataVolume> {
  const { dataDir, owner, host } = opts;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const loop = opts.useImages ? host.loopDisk : undefined;
  if (!loop) {
    if (owner) await chownTree(dataDir, owner.uid, owner.gid);
    const maxFiles = maxFilesFor(opts.diskMb);
    return {
      kind: 'sampled',
      maxFiles,
      usage: () => folderUsage(dataDir, { bytes: opts.diskMb * 2 ** 20, entries: maxFiles }),
      full: async () => false,
      release: async () => undefined,
    };
  }
  let entry = mounted.get(dataDir);
  if (!entry) {
    entry = { count: 0, busy: Promise.resolve() };
    mounted.set(dataDir, entry);
  }
  entry.count++;
  const step = entry.busy.then(async () => {
    if (await isMountPoint(dataDir)) return;
    const image = join(dataDir, IMAGE_NAME);
    const bytes = opts.diskMb * 2 ** 20;
    const existing = await stat(image).catch(() => undefined);
    // Files already in a folder that has no image yet (a data dir restored from a backup, or one
    // that was a plain folder before) go into the new volume, not under it where nothing sees them.
    const carried = existing ? undefined : await moveAside(dataDir);
    if (!existing) await makeImage(loop.mkfs, image, bytes, owner);
    else if (existing.size < bytes) await growImage(loop.mkfs, image, bytes);
    await run(loop.mount, ['-o', 'loop,nosuid,nodev,noatime', image, dataDir]);
    await rmdir(join(dataDir, 'lost+found')).catch(() => undefined);
    if (carried) {
      await cp(carried, dataDir, { recursive: true, preserveTimestamps: true });
      await rm(carried, { recursive: true, force: true });
      if (owner) await chownTree(dataDir, owner.uid, owner.gid);
    }
    if (owner) await chown(dataDir, owner.uid, owner.gid);
    else await chown(dataDir, process.getuid!(), process.getgid!());
  });
  entry.busy = step.catch(() => undefined);
  try {
    await step;
  } catch (error) {
    entry.count--;
    throw error;
  }
  const files = await statfs(dataDir);
  let released = false;
  return {
    kind: 'ext4-loop',
    maxFiles: files.files,
    async usage() {
      const s = await statfs(dataDir);
      return { bytes: (s.blocks - s.bfree) * s.bsize, entries: s.files - s.ffree };
    },
    async full() {
      const s = await statfs(dataDir);
      return s.bavail < FULL_BLOCKS || s.ffree === 0;
    },
    async release() {
      if (released) return;
      released = true;
      const e = mounted.get(dataDir)!;
      e.count--;
      const step = e.busy.then(async () => {
        if (e.count > 0) return;
        mounted.delete(dataDir);
        // A volume the plugin left empty is not kept: the folder then looks, unmounted, as it did
        // before it had a volume (sweeps and listings see an empty folder); the next start makes a new one.
        const empty = (await readdir(dataDir).catch(() => ['?'])).length === 0;
        await unmount(loop.umount, dataDir);
        if (empty) await rm(join(dataDir, IMAGE_NAME), { force: true });
      });
      e.busy = step.catch(() => undefined);
      await step;
    },
  };
}

/**
 * Unmounts every data volume under `root` that no instance of this process holds: the mounts a
 * core killed mid-way left behind. Core calls it before removing a plugin's folders, so an
 * uninstall or a rollback after a crash leaves neither a mount nor a loop device.
 */
export async function releaseStaleDataVolumes(root: string): Promise<void> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const points = text
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''))
    .filter((p) => (p === root || p.startsWith(prefix)) && !mounted.has(p))
    // Deepest first, so a mount under another comes off before it.
    .sort((a, b) => b.length - a.length);
  for (const point of points) await unmount('umount', point);
}
