/**
 * A path-mode dev install copies the developer's build onto core's disk before anything packs or
 * checks it. A developer with plugin:dev puts a sparse file of 2 GiB (it takes no room on their
 * side) into dist/: before, core wrote all 2 GiB of zeros into its staging folder — a file of a
 * few TB, or one the developer keeps appending to, fills the disk every tenant shares — and only
 * then did packing refuse the size. Now the copy stops at the size a package may unpack to, on
 * the file's size before writing a byte, and on the bytes read while copying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '@powerx/package-format';
import { devInstall, project, startDevCore, stopTestCore, type TestCore } from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();

let core: TestCore;

beforeAll(async () => {
  core = await startDevCore();
});
afterAll(async () => {
  await stopTestCore(core);
});

/** A file of `bytes` bytes that holds no data blocks (nothing is written). */
async function sparseFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(bytes);
  } finally {
    await handle.close();
  }
}

describe('a dev build larger than a package may be', () => {
  it('is refused with DEV_BUILD_TOO_LARGE before core copies it, and nothing is left in staging', async () => {
    const dir = await project(core, 'dev-hello');
    await sparseFile(join(dir, 'dist/assets.bin'), 2 * 1024 * 1024 * 1024);
    const r = await devInstall(core.api, { tenant: 'sandbox-dev', path: dir });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body).toMatchObject({
      code: 'DEV_BUILD_TOO_LARGE',
      details: { path: 'dist/assets.bin', limit: DEFAULT_LIMITS.maxUncompressedBytes },
    });
    expect((await readdir(join(core.dataDir, 'staging'))).filter((n) => n.startsWith('dev-'))).toEqual([]);
    const plugins = await core.api.get('/api/tenants/sandbox-dev/plugins');
    expect(plugins.body.plugins).toEqual([]);
  });
});
