/**
 * Package blobs (.pxp files kept for the installs that may serve again: active and last stable).
 * Local disk is the embedded default; an object store can implement the same interface.
 */
import { mkdir, rename, rm, copyFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BlobStore {
  /** Moves (or copies) the file into the store under `key`. */
  put(key: string, fromPath: string): Promise<void>;
  remove(key: string): Promise<void>;
  pathOf(key: string): string;
}

export class LocalDiskBlobStore implements BlobStore {
  readonly #root: string;
  constructor(root: string) {
    this.#root = root;
  }
  pathOf(key: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new Error(`Bad blob key ${key}`);
    return join(this.#root, key);
  }
  async put(key: string, fromPath: string): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    try {
      await rename(fromPath, this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(fromPath, this.pathOf(key));
      await rm(fromPath, { force: true });
    }
  }
  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
