/**
 * A data folder can be moved or copied: everything the database says about files is relative to
 * the data folder, so a core started on the new place serves every plugin from its own files, and
 * the start-up sweep removes nothing a row names (it used to delete every version folder after a
 * move, and a copy ran its plugins from the original folder).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readdir, rename, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { listFiles, makeTmp, packFixtures, startTestCore, type TestCore } from '../../support/core-kit.ts';
import { expectAllServing, installSeveral, pluginFolders } from './data-folder-kit.ts';

const run = promisify(execFile);
let tmp: string;
let pkgs: Record<string, string>;
let core: TestCore | undefined;

beforeAll(async () => {
  tmp = await makeTmp('pxd-move-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
});
afterAll(async () => {
  await core?.close();
  await rm(tmp, { recursive: true, force: true });
});

const snapshot = async (dataDir: string) => ({
  tenants: await listFiles(join(dataDir, 'tenants')),
  blobs: (await readdir(join(dataDir, 'blobs'))).sort(),
});

describe('moving and copying the data folder', () => {
  it('a moved data folder starts with every plugin serving from its own files, nothing swept', async () => {
    const original = join(tmp, 'data');
    core = await startTestCore({ tmp, dataDir: original });
    await installSeveral(core, pkgs);
    await core.close();
    const before = await snapshot(original);
    expect(before.tenants.filter((f) => /\/versions\/[^/]+\/$/.test(f))).toHaveLength(4);

    const moved = join(tmp, 'data-mv');
    await rename(original, moved);
    core = await startTestCore({ tmp, dataDir: moved });
    await expectAllServing(core);
    expect(await snapshot(moved)).toEqual(before);
    const folders = await pluginFolders(tmp);
    expect(folders.length).toBeGreaterThan(0);
    for (const f of folders) expect(f.startsWith(moved)).toBe(true);
    // The last stable version (hello 1.0.0) is still there to roll back to.
    const back = await core.api.post(
      `/api/tenants/sandbox-dev/plugins/com.fixture.core.hello/rollback?wait=true`,
    );
    expect(back.body.state).toBe('running');
    expect(back.body.version).toBe('1.0.0');
    await core.close();
    core = undefined;
  });

  it('a copy (cp -a) keeps its own files and runs its plugins from them, not from the original', async () => {
    const source = join(tmp, 'data-mv');
    const copy = join(tmp, 'data-cp');
    await run('cp', ['-a', source, copy]);
    const before = await snapshot(copy);
    core = await startTestCore({ tmp, dataDir: copy });
    const folders = await pluginFolders(tmp);
    expect(folders.length).toBeGreaterThan(0);
    for (const f of folders) expect(f.startsWith(copy)).toBe(true);
    expect(await snapshot(copy)).toEqual(before);
    await core.close();
    core = undefined;
    // And the original is untouched by the copy's start.
    core = await startTestCore({ tmp, dataDir: source });
    expect((await core.api.get('/api/tenants/sandbox-dev/plugins')).status).toBe(200);
    await core.close();
    core = undefined;
  });

  it('rows an older core recorded with absolute paths under a previous location are migrated, not swept', async () => {
    const dataDir = join(tmp, 'data-legacy');
    core = await startTestCore({ tmp, dataDir });
    await installSeveral(core, pkgs);
    await core.close();
    core = undefined;
    // What an older core wrote: absolute paths, under the folder the data dir had back then.
    const db = new DatabaseSync(join(dataDir, 'core.db'));
    db.prepare(
      "update installs set version_dir = '/srv/old-checkout/.px-data/' || version_dir where version_dir is not null",
    ).run();
    // …and had not run the migrations from the relative paths on.
    db.prepare("delete from kysely_migration where name >= '0003'").run();
    db.exec(
      'drop table uninstall_cleanups; drop table plugin_storage_usage; drop table dev_reloads; drop table plugin_uninstalls; drop table failover_attempts; alter table tenants drop column created_by; alter table installs drop column node_id',
    );
    db.close();
    const before = await snapshot(dataDir);

    core = await startTestCore({ tmp, dataDir });
    await expectAllServing(core);
    expect(await snapshot(dataDir)).toEqual(before);
    await core.close();
    core = undefined;
    const after = new DatabaseSync(join(dataDir, 'core.db'), { readOnly: true });
    const dirs = after
      .prepare('select version_dir from installs where version_dir is not null')
      .all() as Array<{
      version_dir: string;
    }>;
    after.close();
    expect(dirs.length).toBeGreaterThan(0);
    for (const { version_dir } of dirs)
      expect(version_dir).toMatch(/^tenants\/sandbox-dev\/plugins\/[^/]+\/versions\/[^/]+$/);
  });
});
