/**
 * Package blobs (.pxp files kept for the installs that may serve again: active and last stable).
 * Local disk is the embedded default; nats-blob-store.ts keeps them in a NATS object store bucket.
 */
import { mkdir, rename, rm, copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface BlobStore {
  /** Moves (or copies) the file into the store under `key`. */
  put(key: string, fromPath: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Where the blob is (or would be) on this node's disk. */
  pathOf(key: string): string;
  /** A local path holding the blob, fetched from the shared store if needed; undefined if there is none. */
  fetch(key: string): Promise<string | undefined>;
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
  async fetch(key: string): Promise<string | undefined> {
    const path = this.pathOf(key);
    return (await stat(path).catch(() => undefined)) ? path : undefined;
  }
}
