/**
 * Package blobs in the cluster: the `<prefix>_blobs` NATS object store bucket is the copy every
 * node trusts, the local folder a cache. A node that never saw an upload (failover, a forwarded
 * dev reload) fetches the blob and rebuilds the version folder from it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import type { NatsCluster } from '../cluster/nats-cluster.ts';
import { LocalDiskBlobStore, type BlobStore } from './blob-store.ts';

export class NatsBlobStore implements BlobStore {
  readonly #nats: NatsCluster;
  readonly #local: LocalDiskBlobStore;
  readonly #root: string;

  constructor(nats: NatsCluster, localRoot: string) {
    this.#nats = nats;
    this.#root = localRoot;
    this.#local = new LocalDiskBlobStore(localRoot);
  }

  pathOf(key: string): string {
    return this.#local.pathOf(key);
  }

  async put(key: string, fromPath: string): Promise<void> {
    await this.#local.put(key, fromPath);
    // Stored in the bucket before the install goes on: a node taking over later must find it.
    await this.#nats.blobs.put(
      { name: key },
      Readable.toWeb(createReadStream(this.pathOf(key))) as ReadableStream<Uint8Array>,
    );
  }

  async remove(key: string): Promise<void> {
    await this.#local.remove(key);
    await this.#nats.blobs.delete(key).catch(() => {});
  }

  async fetch(key: string): Promise<string | undefined> {
    const cached = await this.#local.fetch(key);
    if (cached) return cached;
    const result = await this.#nats.blobs.get(key);
    if (!result) return undefined;
    await mkdir(this.#root, { recursive: true });
    const partial = `${this.pathOf(key)}.${randomUUID()}.part`;
    try {
      await pipeline(Readable.fromWeb(result.data as never), createWriteStream(partial, { mode: 0o600 }));
      // The object store checks the digest of what it sent; a mismatch rejects here.
      const error = await result.error;
      if (error) throw error;
      await rename(partial, this.pathOf(key));
    } finally {
      await rm(partial, { force: true });
    }
    return this.pathOf(key);
  }
}
