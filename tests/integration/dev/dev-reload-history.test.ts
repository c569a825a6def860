/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * The dev reload history is kept in core's store (SQLite or PostgreSQL): it survives a core
 * restart, and the <dataDir>/dev-reloads.json an older core saved it to is imported at the first
 * start of this one (then renamed, so an upgrade loses nothing and imports once).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEV_ID,
  devInstall,
  newSandbox,
  project,
  startDevCore,
  stopTestCore,
  type TestCore,
} from './dev-kit.ts';
import { startTestCore, TEST_STORES } from '../../support/core-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '300';

const OLDER_PLUGIN = 'com.fixture.dev.older';

/** The plugin's reloads as listed (under its session, or under recent). */
async function reloadsOf(core: TestCore, tenant: string, pluginId: string): Promise<any[]> {
  const body = (await core.api.get(`/api/plugins/dev/sessions?tenant=${tenant}`)).body;
  return [...body.sessions, ...body.recent].find((x: any) => x.pluginId === pluginId)?.reloads ?? [];
}

let core: TestCore | undefined;
afterEach(async () => {
  await stopTestCore(core);
  core = undefined;
});

describe.each(TEST_STORES)('on %s', (store) => {
  it('keeps the reload history across a core restart and imports the dev-reloads.json of an older core', async () => {
    core = await startTestCore({ devMode: true, store });
    const tenant = await newSandbox(core.api, 'history-restart');
    const reload = await devInstall(core.api, { tenant, path: await project(core, 'dev-hello') });
    expect(reload.body.result).toBe('running');
    const before = await reloadsOf(core, tenant, DEV_ID);
    expect(before.map((r) => r.id)).toEqual([reload.body.id]);

    // Stopped; the file an older core left beside dev-sessions.json (its history, newest first).
    const { tmp, dataDir } = core;
    const testStore = core.store;
    await core.close();
    const older = [
      {
        id: 'dr_older2',
        at: '2026-01-02T10:00:00.000Z',
        version: '0.2.0',
        installId: 'in_older2',
        durationMs: 812,
        result: 'failed',
        rollback: {
          code: 'HEALTH_CHECK_FAILED',
          stage: 'health_check',
          message: 'no answer on /healthz',
          hint: 'look at the plugin log',
          restored: false,
        },
      },
      {
        id: 'dr_older1',
        at: '2026-01-02T09:00:00.000Z',
        version: '0.1.0',
        durationMs: 640,
        result: 'running',
      },
    ];
    await writeFile(
      join(dataDir, 'dev-reloads.json'),
      JSON.stringify({ [`${tenant}\0${OLDER_PLUGIN}`]: older }),
    );

    core = Object.assign(await startDevCore({ tmp, ...testStore.options }), { store: testStore });
    expect(await reloadsOf(core, tenant, DEV_ID)).toEqual(before);
    expect(await reloadsOf(core, tenant, OLDER_PLUGIN)).toEqual(older);
    expect((await readdir(dataDir)).filter((f) => f.startsWith('dev-reloads'))).toEqual([
      'dev-reloads.json.imported',
    ]);

    // Read once: another restart lists the same, with nothing twice.
    await core.close();
    core = Object.assign(await startDevCore({ tmp, ...testStore.options }), { store: testStore });
    expect(await reloadsOf(core, tenant, OLDER_PLUGIN)).toEqual(older);
  });
});
