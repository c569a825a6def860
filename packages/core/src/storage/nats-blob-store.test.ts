import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestNats } from '../cluster/test-nats.ts';
import { NatsBlobStore } from './nats-blob-store.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
let dir: string;
let a: NatsBlobStore;
let b: NatsBlobStore;

beforeEach(async () => {
  nats = await openTestNats(2);
  dir = await mkdtemp(join(tmpdir(), 'px-blobs-'));
  a = new NatsBlobStore(nats.nodes[0], join(dir, 'node-a'));
  b = new NatsBlobStore(nats.nodes[1], join(dir, 'node-b'));
});
afterEach(async () => {
  await nats.close();
  await rm(dir, { recursive: true, force: true });
});

describe('NATS blob store', () => {
  it('gives another node the same bytes of a package stored on one node', async () => {
    const bytes = randomBytes(300_000);
    await writeFile(join(dir, 'upload.pxp'), bytes);
    await a.put('i-1.pxp', join(dir, 'upload.pxp'));
    expect(b.pathOf('i-1.pxp')).not.toBe(a.pathOf('i-1.pxp'));
    const path = await b.fetch('i-1.pxp');
    expect(path).toBe(b.pathOf('i-1.pxp'));
    expect(Buffer.compare(await readFile(path!), bytes)).toBe(0);
  });

  it('removes a blob from every node and says when there is none', async () => {
    await writeFile(join(dir, 'upload.pxp'), 'x');
    await a.put('i-2.pxp', join(dir, 'upload.pxp'));
    await b.remove('i-2.pxp');
    expect(await b.fetch('i-2.pxp')).toBeUndefined();
    expect(await new NatsBlobStore(nats.nodes[0], join(dir, 'node-c')).fetch('i-2.pxp')).toBeUndefined();
  });

  it('refuses keys that could leave the blob folder', async () => {
    await expect(b.fetch('../escape')).rejects.toThrow(/Bad blob key/);
  });
});
