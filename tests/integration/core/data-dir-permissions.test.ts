/**
 * The data folder holds the admin token, the master key and the store (password and token
 * hashes, sealed secrets): the folder is owner-only (0700) and core.db with its WAL files 0600,
 * also when the folder existed before with looser modes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTmp, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

let core: TestCore | undefined;
afterAll(async () => {
  await stopTestCore(core);
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('data dir permissions', () => {
  it('keeps the data dir 0700 and core.db, its -wal and -shm files 0600', async () => {
    const tmp = await makeTmp();
    await mkdir(join(tmp, 'data'), { mode: 0o755 });
    await chmod(join(tmp, 'data'), 0o755); // an existing folder with the usual mode
    core = await startTestCore({ tmp });
    // Something written, so the WAL exists.
    expect((await core.api.post('/api/tenants', { id: 'perm-check', kind: 'sandbox' })).status).toBe(201);
    expect((await mode(core.dataDir)).toString(8)).toBe('700');
    const dbFiles = (await readdir(core.dataDir)).filter((f) => f.startsWith('core.db'));
    expect(dbFiles).toEqual(expect.arrayContaining(['core.db', 'core.db-wal', 'core.db-shm']));
    for (const f of dbFiles)
      expect(`${f} ${(await mode(join(core.dataDir, f))).toString(8)}`).toBe(`${f} 600`);
  });
});
