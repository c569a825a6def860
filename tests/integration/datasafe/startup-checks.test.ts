/**
 * Start-up checks run before core touches its data folder: a busy port stops it with
 * PORT_IN_USE (before crash recovery could roll back or start anything), and a damaged core.db
 * stops it with DATABASE_CORRUPT naming the file and how to restore, leaving the file as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTmp, startTestCore } from '../../support/core-kit.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await makeTmp('pxd-start-');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sha = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('start-up checks', () => {
  it('refuses a busy port with PORT_IN_USE and a hint, before creating or recovering anything', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = join(tmp, 'busy-port');
    try {
      const error = await startTestCore({ tmp, dataDir, port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        code: 'PORT_IN_USE',
        message: `Port ${port} on 127.0.0.1 is already in use`,
        hint: expect.stringContaining('PX_PORT'),
      });
      // Checked before anything: the data folder was not even created.
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('refuses a core.db that is not a database, naming the file and the restore, and changes nothing', async () => {
    const dataDir = join(tmp, 'not-a-db');
    const first = await startTestCore({ tmp, dataDir });
    await first.close();
    const file = join(dataDir, 'core.db');
    await rm(`${file}-wal`, { force: true });
    await rm(`${file}-shm`, { force: true });
    const handle = await open(file, 'r+');
    await handle.write(Buffer.alloc(100, 0x5a), 0, 100, 0);
    await handle.close();
    const before = { hash: await sha(file), files: (await readdir(dataDir)).sort() };

    const error = await startTestCore({ tmp, dataDir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'DATABASE_CORRUPT',
      message: expect.stringContaining(file),
      hint: expect.stringContaining('restore the data folder from a backup'),
    });
    expect((error as Error).message).toContain('file is not a database');
    expect({ hash: await sha(file), files: (await readdir(dataDir)).sort() }).toEqual(before);
  });

  it('refuses a core.db with a damaged page (PRAGMA quick_check), naming the file', async () => {
    const dataDir = join(tmp, 'malformed');
    const first = await startTestCore({ tmp, dataDir });
    // Enough rows that the audit table spans several pages.
    for (let i = 0; i < 40; i++) await first.api.post('/api/tenants', { id: `t-${i}`, kind: 'sandbox' });
    await first.close();
    const file = join(dataDir, 'core.db');
    const pageSize = 4096;
    const size = (await readFile(file)).length;
    expect(size).toBeGreaterThan(pageSize * 8);
    // Overwrite a page in the middle (not the header): SQLite still opens the file.
    const handle = await open(file, 'r+');
    await handle.write(Buffer.alloc(pageSize, 0x41), 0, pageSize, Math.floor(size / pageSize / 2) * pageSize);
    await handle.close();

    const error = await startTestCore({ tmp, dataDir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'DATABASE_CORRUPT', message: expect.stringContaining(file) });
  });

  it('a healthy data folder still starts after the checks', async () => {
    const dataDir = join(tmp, 'healthy');
    const first = await startTestCore({ tmp, dataDir });
    await first.close();
    const second = await startTestCore({ tmp, dataDir });
    expect((await second.api.get('/api/tenants')).status).toBe(200);
    await second.close();
  });
});
