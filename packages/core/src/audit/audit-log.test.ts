import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openTestDatabase, TEST_DIALECTS, type TestDatabase } from '../storage/test-databases.ts';
import type { Db } from '../storage/schema.ts';
import { AuditLog } from './audit-log.ts';

let store: TestDatabase;
let db: Db;

async function fill(audit: AuditLog, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      audit.append({ actor: 'u', tenant: 't', action: `a.${i}`, outcome: 'ok', details: { i } }),
    ),
  );
}

describe.each(TEST_DIALECTS)('audit log on %s', (dialect) => {
  beforeEach(async () => {
    store = await openTestDatabase(dialect);
    db = store.db;
  });
  afterEach(async () => {
    await store.close();
  });

  it('keeps one chain when two nodes append to the same store at once', async () => {
    const nodeA = new AuditLog(db);
    const nodeB = new AuditLog(db);
    await nodeA.append({ actor: 'a', action: 'first', outcome: 'ok' });
    await nodeB.append({ actor: 'b', action: 'first', outcome: 'ok' });
    await Promise.all([fill(nodeA, 15), fill(nodeB, 15)]);
    expect(await nodeA.verify()).toMatchObject({ ok: true, entries: 32 });
  });

  it('chains concurrent appends in order and verifies', async () => {
    const audit = new AuditLog(db);
    await fill(audit, 20);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 20 });
    const { entries } = await audit.query({ limit: 100 });
    for (let i = 0; i < entries.length - 1; i++) expect(entries[i].prevHash).toBe(entries[i + 1].hash);
  });

  it('continues the chain after a restart', async () => {
    await fill(new AuditLog(db), 3);
    const again = new AuditLog(db);
    await again.append({ actor: 'u', action: 'later', outcome: 'ok' });
    expect(await again.verify()).toMatchObject({ ok: true, entries: 4 });
  });

  it('detects an edited field, edited details, a deleted entry and an inserted one', async () => {
    const audit = new AuditLog(db);
    await fill(audit, 5);
    await sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 3 });
    await sql`UPDATE audit_log SET actor = 'u' WHERE seq = 3`.execute(db);
    await sql`UPDATE audit_log SET details = '{"i":99}' WHERE seq = 2`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'details were altered' });
    await sql`UPDATE audit_log SET details = '{"i":1}' WHERE seq = 2`.execute(db);
    expect((await audit.verify()).ok).toBe(true);
    await sql`DELETE FROM audit_log WHERE seq = 4`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('still verifies after details are cleared by retention', async () => {
    const audit = new AuditLog(db);
    await fill(audit, 3);
    await sql`UPDATE audit_log SET details = NULL`.execute(db);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('filters by action prefix and pages backwards', async () => {
    const audit = new AuditLog(db);
    await fill(audit, 12);
    const first = await audit.query({ action: 'a.1*', limit: 2 });
    expect(first.entries.map((e) => e.action)).toEqual(['a.11', 'a.10']);
    const next = await audit.query({ action: 'a.1*', limit: 2, before: first.nextBefore });
    expect(next.entries.map((e) => e.action)).toEqual(['a.1']);
    expect(next.nextBefore).toBeUndefined();
  });
});
