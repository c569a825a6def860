/**
 * What an uninstall leaves: its install history says `uninstalled` (not `running` for a plugin
 * that is gone), and a core killed right after the uninstall's commit — before it removed the
 * files — finds the uninstall recorded as unfinished at its next start and finishes it (folders,
 * data included), while keeping every folder that a row still names. The state after such a kill
 * is made exactly (the committed rows, the files as they were), so the test does not depend on
 * hitting a millisecond; the chaos harness kills at random moments for real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import {
  HELLO_ID,
  listFiles,
  makeTmp,
  packFixtures,
  startTestCore,
  type TestCore,
} from '../../support/core-kit.ts';
import { BASE_ID } from './data-folder-kit.ts';

let tmp: string;
let pkgs: Record<string, string>;
let core: TestCore | undefined;

beforeAll(async () => {
  tmp = await makeTmp('pxd-uninst-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
});
afterAll(async () => {
  await core?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('after an uninstall', () => {
  it('no install of the uninstalled plugin still says running', async () => {
    core = await startTestCore({ tmp, dataDir: join(tmp, 'history') });
    expect((await core.api.install(pkgs.hello)).body.state).toBe('running');
    expect((await core.api.install(pkgs['hello-v2'])).body.state).toBe('running');
    expect((await core.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(204);
    const { installs } = (await core.api.get(`/api/installs?tenant=sandbox-dev&plugin=${HELLO_ID}`)).body;
    expect(installs).toHaveLength(2);
    expect(installs.map((i: { state: string }) => i.state)).toEqual(['uninstalled', 'uninstalled']);
    await core.close();
    core = undefined;
  });

  it('a core killed right after the uninstall commit removes the plugin folders at its next start, and only those', async () => {
    const dataDir = join(tmp, 'killed');
    core = await startTestCore({ tmp, dataDir });
    expect((await core.api.install(pkgs.hello)).body.state).toBe('running');
    expect((await core.api.install(pkgs.base)).body.state).toBe('running');
    await core.close();
    core = undefined;
    // (its data folder is a mounted volume while it runs: compared by its version folders)
    const baseFiles = await listFiles(
      join(dataDir, 'tenants', 'sandbox-dev', 'plugins', BASE_ID, 'versions'),
    );
    // The database as the uninstall transaction committed it; the files as they were when core died.
    const db = new DatabaseSync(join(dataDir, 'core.db'));
    db.prepare('delete from plugins where tenant_id = ? and plugin_id = ?').run('sandbox-dev', HELLO_ID);
    db.prepare(
      'update installs set secrets_enc = null, version_dir = null where tenant_id = ? and plugin_id = ?',
    ).run('sandbox-dev', HELLO_ID);
    db.prepare(
      'insert into uninstall_cleanups (tenant_id, plugin_id, keep_data, created_at) values (?, ?, 0, ?)',
    ).run('sandbox-dev', HELLO_ID, new Date().toISOString());
    db.close();
    // What the plugin had written in its data folder: not empty, and still to be removed.
    await writeFile(join(dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID, 'data', 'state.json'), '{}');
    const helloRoot = join(dataDir, 'tenants', 'sandbox-dev', 'plugins', HELLO_ID);
    expect(existsSync(join(helloRoot, 'versions'))).toBe(true);

    core = await startTestCore({ tmp, dataDir });
    expect(existsSync(helloRoot)).toBe(false);
    expect(await listFiles(join(dataDir, 'tenants', 'sandbox-dev', 'plugins', BASE_ID, 'versions'))).toEqual(
      baseFiles,
    );
    expect((await fetch(core.entryUrl('sandbox-dev', BASE_ID))).status).toBe(200);
  });
});
