import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderUsage } from './data-volume.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tree(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'px-usage-'));
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  for (let i = 0; i < 300; i++) await writeFile(join(dir, 'a', 'b', `f${i}`), '');
  await writeFile(join(dir, 'big'), Buffer.alloc(64 * 1024, 1));
  return dir;
}

describe('measuring a sampled data folder', () => {
  it('counts every file and folder, empty ones included, and their allocated blocks', async () => {
    const root = await tree();
    const usage = await folderUsage(root);
    expect(usage.entries).toBe(303);
    expect(usage.bytes).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('stops walking once the file count is past the limit', async () => {
    const root = await tree();
    const usage = await folderUsage(root, { bytes: 2 ** 30, entries: 10 });
    expect(usage.entries).toBeGreaterThan(10);
    expect(usage.entries).toBeLessThan(303);
  });
});
