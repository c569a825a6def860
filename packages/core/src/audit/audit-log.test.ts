import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openTestDatabase, TEST_DIALECTS, type TestDatabase } from '../storage/test-databases.ts';
import type { Db } from '../storage/schema.ts';
import { AuditLog } from './audit-log.ts';

const KEY = Buffer.alloc(32, 7);
let store: TestDatabase;
let db: Db;

/** Entries 0..n-1 (details.i); the ones listed in `dev` are dev reloads, the others install stages. */
async function fill(audit: AuditLog, n: number, dev: number[] = []): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      audit.append({
        actor: 'u',
        tenant: 't',
        action: dev.includes(i) ? 'plugin.dev.reload' : 'plugin.install.stage',
        outcome: 'ok',
        details: { i },
      }),
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
    const nodeA = new AuditLog(db, { key: KEY });
    const nodeB = new AuditLog(db, { key: KEY });
    await nodeA.append({ actor: 'a', action: 'plugin.install.stage', outcome: 'ok' });
    await nodeB.append({ actor: 'b', action: 'plugin.install.stage', outcome: 'ok' });
    await Promise.all([fill(nodeA, 15), fill(nodeB, 15)]);
    expect(await nodeA.verify()).toMatchObject({ ok: true, entries: 32 });
  });

  it('chains concurrent appends in order and verifies', async () => {
    const audit = new AuditLog(db, { key: KEY });
    await fill(audit, 20);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 20 });
    const { entries } = await audit.query({ limit: 100 });
    for (let i = 0; i < entries.length - 1; i++) expect(entries[i].prevHash).toBe(entries[i + 1].hash);
  });

  it('commits an entry together with the change it records, and neither when the change fails', async () => {
    const audit = new AuditLog(db, { key: KEY });
    const tenant = (id: string) => ({
      id,
      name: id,
      kind: 'sandbox' as const,
      allow_unsigned: 0,
      created_at: new Date().toISOString(),
      created_by: null,
    });
    const made = await audit.appendWith(
      { actor: 'u', action: 'tenant.create', outcome: 'ok' },
      async (trx) => {
        await trx.insertInto('tenants').values(tenant('kept')).execute();
        return 'made';
      },
    );
    expect(made).toBe('made');
    await expect(
      audit.appendWith({ actor: 'u', action: 'tenant.create', outcome: 'ok' }, async (trx) => {
        await trx.insertInto('tenants').values(tenant('lost')).execute();
        throw new Error('crashed before the change was complete');
      }),
    ).rejects.toThrow('crashed before');
    await audit.append({ actor: 'u', action: 'auth.login', outcome: 'ok' });
    const ids = (await db.selectFrom('tenants').select('id').execute()).map((t) => t.id);
    expect(ids).toContain('kept');
    expect(ids).not.toContain('lost');
    expect((await audit.query({})).entries.map((e) => e.action)).toEqual(['auth.login', 'tenant.create']);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 2 });
  });

  it('continues the chain after a restart', async () => {
    await fill(new AuditLog(db, { key: KEY }), 3);
    const again = new AuditLog(db, { key: KEY });
    await again.append({ actor: 'u', action: 'auth.login', outcome: 'ok' });
    expect(await again.verify()).toMatchObject({ ok: true, entries: 4 });
  });

  it('detects an edited field, edited details, a deleted entry and an inserted one', async () => {
    const audit = new AuditLog(db, { key: KEY });
    await fill(audit, 5);
    await sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 3 });
    await sql`UPDATE audit_log SET actor = 'u' WHERE seq = 3`.execute(db);
    await sql`UPDATE audit_log SET details = '{"i":99}' WHERE seq = 2`.execute(db);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      firstBadSeq: 2,
      reason: expect.stringMatching(/^entry 2 \([a-z.]+ by u at .*\): its details differ/),
    });
    await sql`UPDATE audit_log SET details = '{"i":1}' WHERE seq = 2`.execute(db);
    expect((await audit.verify()).ok).toBe(true);
    await sql`DELETE FROM audit_log WHERE seq = 4`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('reports details set to NULL without a retention marker, naming the entry', async () => {
    const audit = new AuditLog(db, { key: KEY });
    await fill(audit, 3);
    await sql`UPDATE audit_log SET details = NULL WHERE seq = 2`.execute(db);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      firstBadSeq: 2,
      reason: expect.stringMatching(/^entry 2 .*details were removed without a retention marker/),
    });
  });

  it('filters by action prefix and pages backwards', async () => {
    const audit = new AuditLog(db, { key: KEY });
    await fill(audit, 12, [1, 10, 11]);
    const first = await audit.query({ action: 'plugin.dev.*', limit: 2 });
    expect(first.entries.map((e) => e.details?.i)).toEqual([11, 10]);
    const next = await audit.query({ action: 'plugin.dev.*', limit: 2, before: first.nextBefore });
    expect(next.entries.map((e) => e.details?.i)).toEqual([1]);
    expect(next.nextBefore).toBeUndefined();
  });
});
