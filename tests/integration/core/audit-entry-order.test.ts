/**
 * Each stage of an install has its audit entry (`plugin.install.stage`) from the moment the stage
 * exists: a trigger on every new stage row counts that stage's entries as it is written.
 *
 * The audit entry of a rollback (`plugin.install.rolled_back`) is never later than the install's
 * failed state: it is committed with it. Observed inside SQLite itself — a trigger on the state
 * change counts the install's rollback entries at the moment the row turns `failed` — for the
 * rollback crash recovery runs on start (rollBackInterrupted, shared with the cluster's
 * rollBackAbandoned). A crash between the two (another trigger aborts the state change once) loses
 * neither: the next start rolls back again and writes the entry exactly once, and the chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { makeTmp, packFixtures, startTestCore, type TestCore } from '../../support/core-kit.ts';

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

function withDatabase<T>(fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(join(tmp, 'data', 'core.db'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('the audit entry of a rollback', () => {
  it('is there when the install turns failed, and a crash between them neither loses nor doubles it', async () => {
    core = await startTestCore({ tmp });
    const stuck = await core.api.install(pkgs.wizard, { config: { env: { MODE: 'fast' } } });
    expect(stuck.body.state).toBe('awaiting_config');
    const installId = stuck.body.id as string;
    await core.close();
    core = undefined;

    withDatabase((db) => {
      // What a crash before the install was parked leaves: recovery rolls it back on start.
      db.prepare(
        "UPDATE install_stages SET outcome = 'running' WHERE install_id = ? AND stage = 'awaiting_config' AND finished_at IS NULL",
      ).run(installId);
      db.exec(`
        CREATE TABLE test_failed_seen (install_id TEXT, rollback_entries INTEGER);
        CREATE TRIGGER test_failed_seen AFTER UPDATE OF state ON installs WHEN NEW.state = 'failed'
        BEGIN
          INSERT INTO test_failed_seen SELECT NEW.id, (SELECT count(*) FROM audit_log
            WHERE action = 'plugin.install.rolled_back' AND json_extract(details, '$.installId') = NEW.id);
        END;
        CREATE TABLE test_crash_once (armed INTEGER);
        INSERT INTO test_crash_once VALUES (1);
        CREATE TRIGGER test_crash_once BEFORE UPDATE OF state ON installs
          WHEN NEW.state = 'failed' AND EXISTS (SELECT 1 FROM test_crash_once)
        BEGIN
          SELECT RAISE(ABORT, 'simulated crash as the install turns failed');
        END;
      `);
    });

    // The first start's rollback dies as it writes the failed state: the install stays rolling back.
    core = await startTestCore({ tmp });
    expect((await core.api.get(`/api/installs/${installId}`)).body.state).toBe('rolling_back');
    await core.close();
    core = undefined;
    withDatabase((db) => db.exec('DELETE FROM test_crash_once'));

    core = await startTestCore({ tmp });
    expect((await core.api.get(`/api/installs/${installId}`)).body).toMatchObject({
      state: 'failed',
      error: { code: 'INSTALL_INTERRUPTED' },
    });
    const seen = withDatabase((db) => db.prepare('SELECT * FROM test_failed_seen').all());
    expect(seen).toEqual([{ install_id: installId, rollback_entries: 1 }]);
    const entries = (await core.api.get('/api/audit?action=plugin.install.rolled_back&limit=100')).body
      .entries;
    expect(
      entries.filter((e: { details: { installId?: string } }) => e.details?.installId === installId),
    ).toEqual([expect.objectContaining({ actor: 'system', outcome: 'failed' })]);
    expect((await core.api.get('/api/audit/verify')).body).toMatchObject({ ok: true });
  });
});

describe('the audit entry of an install stage', () => {
  it('is there as each stage is written, for every stage of an install that reaches running', async () => {
    core = await startTestCore({ tmp });
    await core.close();
    core = undefined;
    withDatabase((db) =>
      db.exec(`
        CREATE TABLE test_stage_seen (install_id TEXT, stage TEXT, stage_entries INTEGER);
        CREATE TRIGGER test_stage_seen AFTER INSERT ON install_stages
        BEGIN
          INSERT INTO test_stage_seen SELECT NEW.install_id, NEW.stage, (SELECT count(*) FROM audit_log
            WHERE action = 'plugin.install.stage' AND json_extract(details, '$.installId') = NEW.install_id
              AND json_extract(details, '$.stage') = NEW.stage);
        END;
      `),
    );
    core = await startTestCore({ tmp });
    const r = await core.api.install(pkgs.hello, { config: { secrets: { API_KEY: 'k' } } });
    expect(r.body.state, JSON.stringify(r.body)).toBe('running');
    const seen = withDatabase((db) =>
      db.prepare('SELECT stage, stage_entries FROM test_stage_seen WHERE install_id = ?').all(r.body.id),
    ) as Array<{ stage: string; stage_entries: number }>;
    // received is the creation and running the switch: neither is a transition with its own entry.
    const transitions = seen.filter((s) => s.stage !== 'received' && s.stage !== 'running');
    expect(transitions.map((s) => s.stage)).toEqual(expect.arrayContaining(['validating', 'starting']));
    expect(transitions.filter((s) => s.stage_entries !== 1)).toEqual([]);
    expect((await core.api.get('/api/audit/verify')).body).toMatchObject({ ok: true });
  });
});
