/**
 * The append-only audit log. Each entry is chained to the previous one by hash:
 * hash = sha256(prev_hash | ts | actor | tenant | action | target | outcome | details_hash).
 * Details are hashed separately so the retention sweeper can drop old details without breaking
 * the chain; any other edit, insertion or deletion makes `verify()` fail at that entry.
 * Appends are serialized in-process (one core owns a data dir), so the chain never forks.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../storage/schema.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  actor: string;
  tenant?: string | null;
  action: string;
  target?: string | null;
  outcome: 'ok' | 'failed' | 'denied' | 'started';
  /** Never put secret values here: callers pass secret names only. */
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  ts: string;
  actor: string;
  tenant: string | null;
  action: string;
  target: string | null;
  outcome: string;
  details: Record<string, unknown> | null;
  hash: string;
  prevHash: string;
}

export interface AuditQuery {
  tenant?: string;
  tenants?: string[];
  actor?: string;
  action?: string;
  target?: string;
  outcome?: string;
  since?: string;
  until?: string;
  /** Page backwards: entries with seq < before. */
  before?: number;
  limit?: number;
}

export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  headHash: string;
  firstBadSeq?: number;
  reason?: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function entryHash(prevHash: string, e: { ts: string; actor: string; tenant: string | null; action: string; target: string | null; outcome: string; details_hash: string }): string {
  return sha256([prevHash, e.ts, e.actor, e.tenant ?? '', e.action, e.target ?? '', e.outcome, e.details_hash].join('\n'));
}

export class AuditLog {
  readonly #db: Db;
  #tail: Promise<unknown> = Promise.resolve();
  #lastHash: string | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  append(input: AuditInput): Promise<void> {
    const run = this.#tail.then(() => this.#append(input));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #append(input: AuditInput): Promise<void> {
    if (this.#lastHash === undefined) {
      const last = await this.#db.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      this.#lastHash = last?.hash ?? GENESIS_HASH;
    }
    const details = input.details === undefined ? null : JSON.stringify(input.details);
    const row = {
      ts: new Date().toISOString(),
      actor: input.actor,
      tenant: input.tenant ?? null,
      action: input.action,
      target: input.target ?? null,
      outcome: input.outcome,
      details,
      details_hash: sha256(details ?? ''),
      prev_hash: this.#lastHash,
      hash: '',
    };
    row.hash = entryHash(row.prev_hash, row);
    await this.#db.insertInto('audit_log').values(row).execute();
    this.#lastHash = row.hash;
  }

  /** Waits for queued appends (used before reading, and on shutdown). */
  async flush(): Promise<void> {
    await this.#tail;
  }

  async query(q: AuditQuery): Promise<{ entries: AuditEntry[]; nextBefore?: number }> {
    await this.flush();
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    let query = this.#db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(limit + 1);
    if (q.tenant) query = query.where('tenant', '=', q.tenant);
    if (q.tenants) {
      const tenants = q.tenants;
      const actor = q.actor;
      // Members see their tenants' entries and their own actions anywhere.
      query = query.where((eb) => eb.or([eb('tenant', 'in', tenants.length ? tenants : ['\u0000']), ...(actor ? [eb('actor', '=', actor)] : [])]));
    } else if (q.actor) query = query.where('actor', '=', q.actor);
    if (q.action) query = q.action.endsWith('*') ? query.where('action', 'like', `${q.action.slice(0, -1)}%`) : query.where('action', '=', q.action);
    if (q.target) query = query.where('target', '=', q.target);
    if (q.outcome) query = query.where('outcome', '=', q.outcome);
    if (q.since) query = query.where('ts', '>=', q.since);
    if (q.until) query = query.where('ts', '<', q.until);
    if (q.before) query = query.where('seq', '<', q.before);
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    return {
      entries: page.map((r) => ({
        seq: r.seq,
        ts: r.ts,
        actor: r.actor,
        tenant: r.tenant,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
        hash: r.hash,
        prevHash: r.prev_hash,
      })),
      ...(rows.length > limit ? { nextBefore: page[page.length - 1].seq } : {}),
    };
  }

  /** Walks the whole chain; reports the first entry whose hash or link does not match. */
  async verify(): Promise<AuditVerifyResult> {
    await this.flush();
    let prev = GENESIS_HASH;
    let count = 0;
    let lastSeq = 0;
    for await (const row of this.#db.selectFrom('audit_log').selectAll().orderBy('seq', 'asc').stream(500)) {
      count++;
      if (row.seq !== lastSeq + 1) return { ok: false, entries: count, headHash: prev, firstBadSeq: row.seq, reason: `entries ${lastSeq + 1}…${row.seq - 1} are missing` };
      lastSeq = row.seq;
      if (row.prev_hash !== prev) return { ok: false, entries: count, headHash: prev, firstBadSeq: row.seq, reason: 'link to the previous entry is broken' };
      if (row.details !== null && sha256(row.details) !== row.details_hash) return { ok: false, entries: count, headHash: prev, firstBadSeq: row.seq, reason: 'details were altered' };
      if (entryHash(prev, row) !== row.hash) return { ok: false, entries: count, headHash: prev, firstBadSeq: row.seq, reason: 'entry was altered' };
      prev = row.hash;
    }
    return { ok: true, entries: count, headHash: prev };
  }
}
