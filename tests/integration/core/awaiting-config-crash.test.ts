/**
 * A crash inside awaiting_config: core killed after entering the stage but before marking it
 * "waiting" (or after the wizard was submitted but before provisioning) leaves a row that no
 * request would ever finish. The store is put in exactly that state (the row written directly in
 * the SQLite file of a stopped core), then core starts again: the install is rolled back, its
 * quota released, and a new upload of the plugin succeeds. A row genuinely waiting for values
 * stays waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { makeTmp, packFixtures, startTestCore, type TestCore } from '../../support/core-kit.ts';

const WIZARD_ID = 'com.fixture.core.wizard';
let tmp: string;
let pkgs: Record<string, string>;
let core: TestCore | undefined;

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
});
afterAll(async () => {
  await core?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('crash inside awaiting_config', () => {
  it('rolls back on start an awaiting_config install that was never marked waiting, so the plugin can be installed again', async () => {
    core = await startTestCore({ tmp });
    expect((await core.api.post('/api/tenants', { id: 'team-w', kind: 'sandbox' })).status).toBe(201);
    const usageBefore = (await core.api.get('/api/tenants/sandbox-dev/usage')).body;
    const stuck = await core.api.install(pkgs.wizard, { config: { env: { MODE: 'fast' } } });
    const waiting = await core.api.install(pkgs.wizard, {
      tenant: 'team-w',
      config: { env: { MODE: 'fast' } },
    });
    expect([stuck.body.state, waiting.body.state]).toEqual(['awaiting_config', 'awaiting_config']);
    await core.close();
    core = undefined;

    // What a SIGKILL between #transition('awaiting_config') and #markWaiting (or between the wizard
    // submission and provisioning) leaves behind: the stage open and not "waiting".
    const db = new DatabaseSync(join(tmp, 'data', 'core.db'));
    const changed = db
      .prepare(
        "UPDATE install_stages SET outcome = 'running' WHERE install_id = ? AND stage = 'awaiting_config' AND finished_at IS NULL",
      )
      .run(stuck.body.id);
    db.close();
    expect(changed.changes).toBe(1);

    core = await startTestCore({ tmp });
    expect((await core.api.get(`/api/installs/${stuck.body.id}`)).body).toMatchObject({
      state: 'failed',
      error: { code: 'INSTALL_INTERRUPTED', stage: 'awaiting_config' },
    });
    // The install that really waits for values is left alone.
    expect((await core.api.get(`/api/installs/${waiting.body.id}`)).body.state).toBe('awaiting_config');
    expect((await core.api.get('/api/tenants/sandbox-dev/usage')).body).toEqual({
      ...usageBefore,
      installsLastMinute: expect.any(Number),
    });

    const again = await core.api.install(pkgs.wizard, {
      config: { env: { MODE: 'fast', RETRIES: '2' }, secrets: { TOKEN: 'tok' } },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.state).toBe('running');
    expect((await core.api.delete(`/api/tenants/sandbox-dev/plugins/${WIZARD_ID}`)).status).toBe(204);
  });
});
