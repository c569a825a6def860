/**
 * A prepared backup folder as one gzip-compressed tar archive: the archive's root is a data
 * folder, so `tar -xzf backup.tar.gz -C <new data dir>` is the whole restore.
 */
import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { create } from 'tar';

export async function archiveStream(dir: string): Promise<Readable> {
  const entries = (await readdir(dir)).sort();
  return create({ gzip: true, cwd: dir, portable: true }, entries) as unknown as Readable;
}
