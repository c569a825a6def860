/**
 * A full disk is the operator's to fix, not "a bug in PowerX": wherever core runs out of space
 * (first start, upload, unpack, database and audit, uninstall) it answers DISK_FULL (HTTP 507)
 * with a hint, keeps nothing half-done, and the same operation succeeds once space is back.
 * The data folder lives on a small real tmpfs that really fills up.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import {
  HELLO_ID,
  fixturePlugins,
  makeTmp,
  packFixtures,
  startTestCore,
  testKeys,
  type TestCore,
} from '../../support/core-kit.ts';
import { canMountTmpfs, mountSmallDisk, type SmallDisk } from './tmpfs-kit.ts';

let tmp: string;
let pkgs: Record<string, string>;
let bigPkg: string;
let disk: SmallDisk | undefined;
let core: TestCore | undefined;

beforeAll(async () => {
  tmp = await makeTmp('pxd-full-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  // hello with a 2 MiB incompressible asset: the upload is 2 MiB and so is what it unpacks to.
  const big = join(tmp, 'hello-big');
  await cp(join(fixturePlugins, 'hello'), big, { recursive: true });
  await mkdir(join(big, 'dist', 'assets'), { recursive: true });
  await writeFile(join(big, 'dist', 'assets', 'noise.bin'), randomBytes(2 * 1024 * 1024));
  bigPkg = (
    await packDirectory(big, join(tmp, 'pkgs', 'hello-big.pxp'), {
      privateKeyPem: (await testKeys()).privateKeyPem,
    })
  ).file;
});

afterEach(async () => {
  await core?.close().catch(() => {});
  core = undefined;
  await disk?.unmount();
  disk = undefined;
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Empties the WAL, so the next database write needs fresh space (a reused WAL would hide the full disk). */
function truncateWal(dataDir: string): void {
  const db = new DatabaseSync(join(dataDir, 'core.db'));
  try {
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

async function entry(c: TestCore): Promise<number> {
  return (await fetch(c.entryUrl('sandbox-dev', HELLO_ID))).status;
}

const DISK_FULL = { code: 'DISK_FULL', hint: expect.stringContaining('Free space') };

describe.skipIf(!canMountTmpfs)('disk full (on a small tmpfs)', () => {
  it('a first start on a full disk says DISK_FULL, leaves no empty master.key, and starts once space is back', async () => {
    disk = await mountSmallDisk(4);
    const dataDir = join(disk.dir, 'data');
    await mkdir(dataDir);
    await disk.fill(0);
    const error = await startTestCore({ tmp, dataDir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ ...DISK_FULL, status: 507 });
    const key = join(dataDir, 'master.key');
    if (existsSync(key)) expect((await stat(key)).size).toBeGreaterThan(0);

    await disk.free();
    core = await startTestCore({ tmp, dataDir });
    expect((await stat(key)).size).toBe(45);
    expect((await core.api.get('/api/tenants')).status).toBe(200);
  });

  it('a folder where an older core left a 0-byte master.key (and no database) starts with a new key', async () => {
    const dataDir = join(tmp, 'empty-key');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'master.key'), '');
    core = await startTestCore({ tmp, dataDir });
    expect((await stat(join(dataDir, 'master.key'))).size).toBe(45);
  });

  it('an upload, the database and the audit on a full disk answer 507 DISK_FULL and keep nothing', async () => {
    disk = await mountSmallDisk(48);
    core = await startTestCore({ tmp, dataDir: join(disk.dir, 'data') });

    await disk.fill(0);
    const upload = await core.api.install(pkgs.hello);
    expect(upload.status).toBe(507);
    expect(upload.body).toMatchObject({
      ...DISK_FULL,
      message: expect.stringContaining('receiving the upload'),
    });
    expect(await readdir(join(core.dataDir, 'uploads'))).toEqual([]);

    await disk.free();
    truncateWal(core.dataDir);
    await disk.fill(0);
    const tenant = await core.api.post('/api/tenants', { id: 'on-a-full-disk', kind: 'sandbox' });
    expect(tenant.status).toBe(507);
    expect(tenant.body).toMatchObject(DISK_FULL);

    await disk.free();
    expect((await core.api.post('/api/tenants', { id: 'on-a-full-disk', kind: 'sandbox' })).status).toBe(201);
    const installed = await core.api.install(pkgs.hello);
    expect(installed.body.state).toBe('running');
    expect((await core.api.get('/api/audit/verify')).body.ok).toBe(true);
  });

  it('unpacking on a full disk fails the install with DISK_FULL, no staging left; it installs once space is back', async () => {
    disk = await mountSmallDisk(48);
    core = await startTestCore({ tmp, dataDir: join(disk.dir, 'data') });
    // Room for the 2 MiB upload and the bookkeeping, not for the 2 MiB it unpacks to.
    await disk.fill(2.5 * 1024 * 1024);
    const failed = await core.api.install(bigPkg);
    expect(failed.status).toBe(507);
    expect(failed.body).toMatchObject({ ...DISK_FULL, details: { stage: 'validating' } });
    const install = await core.api.get(`/api/installs/${failed.body.details.installId}`);
    expect(install.body).toMatchObject({
      state: 'failed',
      error: { code: 'DISK_FULL', stage: 'validating' },
    });
    expect(await readdir(join(core.dataDir, 'staging'))).toEqual([]);
    expect(await readdir(join(core.dataDir, 'uploads'))).toEqual([]);

    await disk.free();
    const retried = await core.api.install(bigPkg);
    expect(retried.body.state).toBe('running');
    expect(await entry(core)).toBe(200);
  });

  it('an uninstall on a full disk answers DISK_FULL and the plugin keeps serving; it uninstalls once space is back', async () => {
    disk = await mountSmallDisk(48);
    core = await startTestCore({ tmp, dataDir: join(disk.dir, 'data') });
    expect((await core.api.install(pkgs.hello)).body.state).toBe('running');
    truncateWal(core.dataDir);
    await disk.fill(0);

    const refused = await core.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
    expect(refused.status).toBe(507);
    expect(refused.body).toMatchObject(DISK_FULL);
    expect(refused.body.message).not.toContain('no transaction is active');
    const status = await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
    expect(status.body).toMatchObject({ status: 'running' });
    expect(await entry(core)).toBe(200);

    await disk.free();
    expect((await core.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(204);
    expect((await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(404);
  });
});
