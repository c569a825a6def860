import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openSqliteDatabase } from '../storage/open-database.ts';
import type { Db } from '../storage/schema.ts';
import { AuditLog } from './audit-log.ts';

const KEY = Buffer.alloc(32, 7);
let dir: string;
let db: Db;
let anchorFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'px-anchor-'));
  db = await openSqliteDatabase(join(dir, 'core.db'));
  anchorFile = join(dir, 'audit-head.json');
});
afterEach(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

async function fill(audit: AuditLog, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++)
    await audit.append({
      actor: 'u',
      tenant: 't',
      action: 'plugin.install.stage',
      outcome: 'ok',
      details: { i },
    });
}

describe('audit head anchor', () => {
  it('anchors the head in a 0600 file after every append and verifies clean', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 0, anchor: null });
    await fill(audit, 4);
    const anchor = JSON.parse(await readFile(anchorFile, 'utf8'));
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: true, entries: 4, anchor: { seq: 4, hash: result.headHash } });
    expect(anchor.head).toEqual(result.anchor);
    expect((await stat(anchorFile)).mode & 0o777).toBe(0o600);
  });

  it('reports the newest entries deleted, with the missing range', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 6);
    await sql`DELETE FROM audit_log WHERE seq > 3`.execute(db);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      entries: 3,
      missing: { fromSeq: 4, toSeq: 6 },
      firstBadSeq: 4,
      reason: expect.stringContaining('4…6'),
    });
  });

  it('keeps reporting a truncation after a restart appended new entries on the shorter chain', async () => {
    await fill(new AuditLog(db, { key: KEY, anchorFile }), 5);
    await sql`DELETE FROM audit_log WHERE seq > 2`.execute(db);
    await sql`UPDATE sqlite_sequence SET seq = 2 WHERE name = 'audit_log'`.execute(db); // hide the gap too
    const restarted = new AuditLog(db, { key: KEY, anchorFile });
    await fill(restarted, 4, 10);
    const result = await restarted.verify();
    expect(result).toMatchObject({
      ok: false,
      missing: { fromSeq: 3, toSeq: 5 },
      truncations: [{ fromSeq: 3, toSeq: 5 }],
    });
    // The table alone looks perfect: the chain is intact.
    expect(await new AuditLog(db, { key: KEY }).verify()).toMatchObject({ ok: true, entries: 6 });
  });

  it('reports a tampered middle entry and a truncation together', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 6);
    await sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`.execute(db);
    await sql`DELETE FROM audit_log WHERE seq = 6`.execute(db);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, firstBadSeq: 2, missing: { fromSeq: 6, toSeq: 6 } });
    expect(result.reason).toMatch(/^entry 2 \([a-z.]+ by mallory .*keyed hash.*entries 6…6 were deleted/);
  });

  it('says so when the anchor file is missing or unreadable', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 2);
    await rm(anchorFile);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      anchor: null,
      reason: expect.stringContaining('missing'),
    });
    await writeFile(anchorFile, 'garbage');
    expect(await audit.verify()).toMatchObject({ ok: false, reason: expect.stringContaining('unreadable') });
    // A core started on it re-creates the anchor from the table, and says it did.
    const restarted = new AuditLog(db, { key: KEY, anchorFile });
    await fill(restarted, 1, 5);
    expect(await restarted.verify()).toMatchObject({
      ok: false,
      anchor: { seq: 3 },
      reason: expect.stringContaining('re-created'),
    });
  });
});
