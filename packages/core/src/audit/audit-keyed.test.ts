/**
 * The audit log against someone who can write the data folder (core.db and audit-head.json) but
 * does not hold the audit key: rewriting history and recomputing every hash and the anchor,
 * clearing details silently, and replacing the anchor. Retention with its marker still verifies.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openSqliteDatabase } from '../storage/open-database.ts';
import type { Db } from '../storage/schema.ts';
import { AuditLog } from './audit-log.ts';
import { RetentionSweeper } from './retention-sweeper.ts';

const KEY = Buffer.alloc(32, 9);
let dir: string;
let db: Db;
let anchorFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'px-audit-keyed-'));
  db = await openSqliteDatabase(join(dir, 'core.db'));
  anchorFile = join(dir, 'audit-head.json');
});
afterEach(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

async function fill(audit: AuditLog, n: number, tenant = 't'): Promise<void> {
  for (let i = 0; i < n; i++)
    await audit.append({
      actor: 'alice',
      tenant,
      action: 'plugin.install.stage',
      outcome: 'ok',
      details: { i },
    });
}

/** What an attacker without the key can do: recompute every hash as plain SHA-256, then the anchor. */
async function rewriteAndRecompute(): Promise<void> {
  const sha = (t: string) => createHash('sha256').update(t).digest('hex');
  const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  let prev = '0'.repeat(64);
  for (const r of rows) {
    const hash = sha(
      [prev, r.ts, r.actor, r.tenant ?? '', r.action, r.target ?? '', r.outcome, r.details_hash].join('\n'),
    );
    await sql`UPDATE audit_log SET prev_hash = ${prev}, hash = ${hash} WHERE seq = ${r.seq}`.execute(db);
    prev = hash;
  }
  const last = rows[rows.length - 1];
  const anchor = JSON.parse(await readFile(anchorFile, 'utf8'));
  anchor.head = { seq: last.seq, hash: prev, ts: last.ts };
  delete anchor.mac;
  await writeFile(anchorFile, JSON.stringify(anchor));
}

describe('keyed audit chain', () => {
  it('detects history rewritten with every hash and the anchor recomputed', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 5);
    await sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`.execute(db);
    await rewriteAndRecompute();
    const result = await new AuditLog(db, { key: KEY, anchorFile }).verify();
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(
      /^entry 1 \(plugin\.install\.stage by alice at .*\): entries 1…5 are not keyed/,
    );
    // A core started on it later does not take the rewritten log for an old unkeyed one.
    const restarted = new AuditLog(db, { key: KEY, anchorFile });
    await restarted.append({ actor: 'core', action: 'auth.login', outcome: 'ok' });
    expect((await restarted.verify()).ok).toBe(false);
  });

  it('detects an anchor edited to match a shortened log', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 5);
    await sql`DELETE FROM audit_log WHERE seq > 3`.execute(db);
    const row = await db.selectFrom('audit_log').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
    const anchor = JSON.parse(await readFile(anchorFile, 'utf8'));
    anchor.head = { seq: 3, hash: row.hash, ts: row.ts };
    await writeFile(anchorFile, JSON.stringify(anchor));
    expect(await new AuditLog(db, { key: KEY, anchorFile }).verify()).toMatchObject({
      ok: false,
      reason: expect.stringContaining('edited by someone without the audit key'),
    });
  });

  it('a different key does not verify the log', async () => {
    await fill(new AuditLog(db, { key: KEY }), 2);
    expect(await new AuditLog(db, { key: Buffer.alloc(32, 1) }).verify()).toMatchObject({
      ok: false,
      firstBadSeq: 1,
      reason: expect.stringContaining('keyed hash'),
    });
  });

  it('retention clears details under a chained marker and still verifies; a silent NULL does not', async () => {
    const now = new Date().toISOString();
    await db
      .insertInto('tenants')
      .values({
        id: 'box',
        name: 'box',
        kind: 'sandbox',
        allow_unsigned: 0,
        created_at: now,
        created_by: null,
      })
      .execute();
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 3, 'box');
    await fill(audit, 2, 'prod');
    const swept = await new RetentionSweeper(db, audit, 7).sweep(new Date(Date.now() + 8 * 86_400_000));
    expect(swept.auditDetailsCleared).toBe(3);
    const { entries } = await audit.query({ limit: 10 });
    expect(entries[0]).toMatchObject({ action: 'audit.details.cleared', details: { ranges: [[1, 3]] } });
    expect(entries.filter((e) => e.tenant === 'box').every((e) => e.details === null)).toBe(true);
    expect(await audit.verify()).toMatchObject({ ok: true, entries: 6 });

    await sql`UPDATE audit_log SET details = NULL WHERE seq = 5`.execute(db);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      firstBadSeq: 5,
      reason: expect.stringMatching(
        /^entry 5 \(plugin\.install\.stage by alice at .*\): its details were removed without a retention marker/,
      ),
    });
  });

  it('says clearly that the anchor is missing', async () => {
    await fill(new AuditLog(db, { key: KEY, anchorFile }), 2);
    await rm(anchorFile);
    const result = await new AuditLog(db, { key: KEY, anchorFile }).verify();
    expect(result).toMatchObject({ ok: false, anchor: null });
    expect(result.reason).toBe(
      'the audit head anchor (audit-head.json) is missing: truncation cannot be ruled out',
    );
  });

  it('adopts a log written before the key existed (on the start that made the key) with one keyed entry, after which a rewrite shows', async () => {
    const audit = new AuditLog(db, { key: KEY, anchorFile });
    await fill(audit, 3);
    await rewriteAndRecompute(); // the same as an unkeyed core would have written it
    await rm(anchorFile);
    const upgraded = new AuditLog(db, { key: KEY, anchorFile, adoptUnkeyed: true });
    expect((await upgraded.verify()).reason).toContain('are not keyed');
    await upgraded.append({ actor: 'core', action: 'auth.login', outcome: 'ok' });
    const { entries } = await upgraded.query({ limit: 10 });
    expect(entries.map((e) => e.action)).toEqual([
      'auth.login',
      'audit.key.adopted',
      'plugin.install.stage',
      'plugin.install.stage',
      'plugin.install.stage',
    ]);
    expect((await upgraded.verify()).firstBadSeq).toBeUndefined();
    // Rewriting the adopted part now breaks the keyed adoption entry.
    await sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`.execute(db);
    await rewriteAndRecompute();
    expect((await new AuditLog(db, { key: KEY, anchorFile }).verify()).ok).toBe(false);
  });
});
