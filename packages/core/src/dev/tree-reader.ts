/**
 * Reads a folder that someone else may be changing while core reads it, without ever following a
 * link at the moment of use. Each entry is opened by name inside the descriptor of its already
 * opened parent (`/proc/self/fd/<parent>/<name>`, the openat of Linux reachable from Node) with
 * O_NOFOLLOW, then the descriptor itself is checked (fstat: regular file or directory; its real
 * path: inside the tree) and the bytes are read from that descriptor. A check-then-copy on paths
 * (lstat, then copyFile) loses to a developer swapping a file for a symlink in between.
 *
 * Symlinks are resolved by hand: the link text is read without following it, turned into a path
 * relative to the tree and opened again component by component from the root, so a link may point
 * anywhere inside the tree but never out of it (DEV_PATH_LINK_OUT, without saying what is there).
 */
import { constants, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { mkdir, open, readdir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PxError } from '@powerx/protocol';
import { isInside } from './dev-roots.ts';

export interface Counter {
  files: number;
  bytes: number;
  /** Files and folders copied so far. */
  entries?: number;
}

/**
 * What one snapshot may copy: the limits a package is packed under right after (package-format
 * DEFAULT_LIMITS). They are applied while copying, not after: the copy lands on core's disk, and
 * a 1 TB sparse file (or one the developer keeps appending to) would fill it before packing
 * ever looked at the size.
 */
export interface CopyLimits {
  /** Files and folders together (a million empty folders cost inodes too). */
  maxEntries: number;
  maxBytes: number;
}

const MAX_LINK_HOPS = 32;
const MAX_DEPTH = 64;
// O_NONBLOCK: opening a FIFO planted in the project must not hang the copy (it is refused after fstat).
const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const fdPath = (handle: FileHandle, name?: string) =>
  name === undefined ? `/proc/self/fd/${handle.fd}` : `/proc/self/fd/${handle.fd}/${name}`;

function linkOut(rel: string): PxError {
  return new PxError('DEV_PATH_LINK_OUT', { path: rel });
}

export class ProjectTree {
  readonly root: string;
  readonly #rootHandle: FileHandle;

  private constructor(root: string, handle: FileHandle) {
    this.root = root;
    this.#rootHandle = handle;
  }

  static async open(dir: string): Promise<ProjectTree> {
    const root = await realpath(dir);
    const handle = await open(root, constants.O_RDONLY | constants.O_DIRECTORY);
    return new ProjectTree(root, handle);
  }

  async close(): Promise<void> {
    await this.#rootHandle.close();
  }

  /** 'file', 'dir', 'other', or undefined when nothing is there. Links are resolved (inside only). */
  async kindOf(rel: string): Promise<'file' | 'dir' | 'other' | undefined> {
    const handle = await this.#openRel(rel).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!handle) return undefined;
    try {
      const st = await handle.stat();
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } finally {
      await handle.close();
    }
  }

  /** Copies `rel` (a file or a folder, recursively) to `dest`; missing entries are skipped. */
  async copy(rel: string, dest: string, counter: Counter, limits: CopyLimits): Promise<void> {
    const handle = await this.#openRel(rel).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (handle) await this.#copyOpened(handle, rel, dest, counter, limits, 0);
  }

  /** Opens `rel` component by component from the root, never following a link implicitly. */
  async #openRel(rel: string, hops = 0): Promise<FileHandle> {
    const parts = normalize(rel)
      .split(sep)
      .filter((p) => p && p !== '.');
    if (parts[0] === '..') throw linkOut(rel);
    let dir = this.#rootHandle;
    let dirRel = '';
    try {
      for (let i = 0; i < parts.length; i++) {
        const next = await this.#openChild(dir, dirRel, parts[i], hops);
        if (dir !== this.#rootHandle) await dir.close();
        dir = next;
        dirRel = join(dirRel, parts[i]);
      }
    } catch (error) {
      if (dir !== this.#rootHandle) await dir.close();
      throw error;
    }
    return dir === this.#rootHandle ? open(fdPath(this.#rootHandle), constants.O_RDONLY) : dir;
  }

  /** One entry of an opened folder; a symlink is re-resolved from the root, and only inside it. */
  async #openChild(dir: FileHandle, dirRel: string, name: string, hops: number): Promise<FileHandle> {
    try {
      return await this.#checkedOpen(fdPath(dir, name), join(dirRel, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error;
    }
    // ELOOP under O_NOFOLLOW: the entry is a symlink (read its text, never its target).
    const rel = join(dirRel, name);
    if (hops >= MAX_LINK_HOPS) throw new PxError('DEV_PATH_LINK_OUT', { path: rel });
    const text = await readlink(fdPath(dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EINVAL') return undefined; // no longer a link: changed under us
      throw error;
    });
    if (text === undefined) return this.#openChild(dir, dirRel, name, hops + 1);
    const target = isAbsolute(text) ? relative(this.root, text) : normalize(join(dirRel, text));
    if (target === '..' || target.startsWith(`..${sep}`) || isAbsolute(target)) throw linkOut(rel);
    return this.#openRel(target, hops + 1);
  }

  /** Opens without following and checks where the descriptor really is: inside the tree. */
  async #checkedOpen(path: string, rel: string): Promise<FileHandle> {
    const handle = await open(path, NO_FOLLOW);
    const real = await readlink(fdPath(handle)).catch(() => '');
    if (!isInside(real, this.root)) {
      await handle.close();
      throw linkOut(rel);
    }
    return handle;
  }

  async #copyOpened(
    handle: FileHandle,
    rel: string,
    dest: string,
    counter: Counter,
    limits: CopyLimits,
    depth: number,
  ) {
    let closed = false;
    try {
      const st = await handle.stat();
      if (st.isDirectory() || st.isFile()) {
        counter.entries = (counter.entries ?? 0) + 1;
        if (counter.entries > limits.maxEntries)
          throw new PxError('PXP_TOO_MANY_ENTRIES', { limit: limits.maxEntries });
      }
      if (st.isDirectory()) {
        if (depth > MAX_DEPTH) throw new PxError('DEV_PATH_LINK_OUT', { path: rel });
        await mkdir(dest, { recursive: true });
        for (const name of (await readdir(fdPath(handle))).sort()) {
          // An entry deleted since the listing (the developer keeps editing) is simply not copied.
          const child = await this.#openChild(handle, rel, name, 0).catch((error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return undefined;
            throw error;
          });
          if (child)
            await this.#copyOpened(child, join(rel, name), join(dest, name), counter, limits, depth + 1);
        }
        return;
      }
      if (!st.isFile()) throw new PxError('PXP_SPECIAL_ENTRY', { path: rel, type: 'special file' });
      counter.files++;
      const tooLarge = () => new PxError('DEV_BUILD_TOO_LARGE', { path: rel, limit: limits.maxBytes });
      // The size first (a sparse file is refused before one byte is written), then every byte as
      // it is read: the file may grow while it is copied.
      if (counter.bytes + st.size > limits.maxBytes) throw tooLarge();
      await mkdir(dirname(dest), { recursive: true });
      closed = true; // the read stream closes the handle when it ends or fails
      const bound = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          counter.bytes += chunk.length;
          done(counter.bytes > limits.maxBytes ? tooLarge() : null, chunk);
        },
      });
      await pipeline(handle.createReadStream({ start: 0 }), bound, createWriteStream(dest, { flags: 'wx' }));
    } finally {
      if (!closed) await handle.close();
    }
  }
}
