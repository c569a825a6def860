/**
 * The append-only audit log. Each entry is chained to the previous one by a keyed hash
 * (audit-hash.ts: HMAC under the audit key, which is not in the data folder). Details are hashed
 * separately so retention can clear old details, which it does only after appending a chained
 * marker entry naming them (retention-sweeper.ts); any other edit, insertion or deletion makes
 * `verify()` fail at that entry and say what differs (audit-verify.ts).
 * Appends are serialized in-process, and on PostgreSQL across nodes by an advisory lock, so the
 * chain never forks.
 */
import type { AuditAction, AuditEntry } from '@powerx/protocol';
import { sql } from 'kysely';
import type { Db } from '../storage/schema.ts';
import { dialectOf } from '../storage/dialect.ts';
import { AuditAnchor, type AnchorState, type AnchorStore, type AuditTruncation } from './audit-anchor.ts';
import { ADOPTED_ACTION, GENESIS_HASH, entryMac, legacyHash, sha256 } from './audit-hash.ts';
import { verifyChain } from './audit-verify.ts';

export { GENESIS_HASH } from './audit-hash.ts';
/** PostgreSQL advisory lock key of the audit chain (any fixed number unique within core). */
const AUDIT_LOCK_KEY = 7_301_001;

export interface AuditInput {
  actor: string;
  tenant?: string | null;
  /** One of the registry in @powerx/protocol (audit-actions.ts). */
  action: AuditAction;
  target?: string | null;
  outcome: 'ok' | 'failed' | 'denied' | 'started';
  /** Never put secret values here: callers pass secret names only. */
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  tenant?: string;
  /**
   * What the caller may see at all (non-admins): entries of these tenants, or their own actions.
   * Always ANDed with the filters below, so a filter can only narrow the scope, never widen it.
   */
  scope?: { tenants: string[]; actor: string };
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
  /** Entries known to be gone from the end of the log (truncation), inclusive. */
  missing?: { fromSeq: number; toSeq: number };
  /** The head anchored outside the database (see audit-anchor.ts); null when none is configured or found. */
  anchor?: { seq: number; hash: string; ts: string } | null;
  /** Truncations noticed earlier, when core loaded the head; they stay reported. */
  truncations?: AuditTruncation[];
}

export class AuditLog {
  readonly #db: Db;
  #tail: Promise<unknown> = Promise.resolve();
  #headLoaded = false;
  readonly #anchor: AnchorStore | undefined;
  #anchorState: AnchorState | undefined;

  readonly #key: Buffer;
  readonly #adoptUnkeyed: boolean;
  readonly #onAnchorError: ((error: unknown) => void) | undefined;

  /**
   * `key`: the audit key (32 bytes, never stored in the data folder).
   * Where the head is anchored outside the database: `anchorFile` (core: `<data dir>/audit-head.json`)
   * or another `anchor` store (a cluster keeps it in NATS, shared by the nodes).
   * `adoptUnkeyed`: chain a log written by an older, unkeyed core under this key (only on the
   * start that generated the key: otherwise anyone could turn a rewritten log into an "old" one).
   * `onAnchorError`: told when the anchor could not be written (it catches up on the next append).
   */
  constructor(
    db: Db,
    opts: {
      key: Buffer;
      anchorFile?: string;
      anchor?: AnchorStore;
      adoptUnkeyed?: boolean;
      onAnchorError?: (error: unknown) => void;
    },
  ) {
    this.#db = db;
    this.#key = opts.key;
    this.#adoptUnkeyed = opts.adoptUnkeyed ?? false;
    this.#onAnchorError = opts.onAnchorError;
    this.#anchor = opts.anchor ?? (opts.anchorFile ? new AuditAnchor(opts.anchorFile, opts.key) : undefined);
  }

  /**
   * Before the first append: compare the table's head with the anchor. A head behind the anchor
   * (rows deleted from the end), or a different entry at the anchored sequence number (rewritten),
   * is recorded as a truncation in the anchor file before anything new is chained on top.
   */
  async #loadHead(): Promise<{ seq: number; hash: string } | undefined> {
    const last = await this.#db
      .selectFrom('audit_log')
      .select(['seq', 'hash', 'ts'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!this.#anchor) return last;
    const read = await this.#anchor.read();
    const now = new Date().toISOString();
    if (read.kind !== 'ok') {
      this.#anchorState = {
        head: last
          ? { seq: last.seq, hash: last.hash, ts: last.ts }
          : { seq: 0, hash: GENESIS_HASH, ts: now },
        truncations: [],
      };
      if (last)
        this.#anchorState.establishedFromTable = {
          at: now,
          seq: last.seq,
          reason: read.kind === 'missing' ? 'anchor file missing' : `anchor file unreadable: ${read.reason}`,
        };
      return last;
    }
    const state = read.state;
    const lost = await this.#lostSince(state.head, last?.seq ?? 0);
    if (lost && !state.truncations.some((t) => t.toSeq === lost.toSeq && t.lostHeadHash === state.head.hash))
      state.truncations.push({ ...lost, lostHeadHash: state.head.hash, detectedAt: now });
    this.#anchorState = state;
    return last;
  }

  /** The range lost between the anchored head and the table, if any. */
  async #lostSince(
    head: { seq: number; hash: string },
    tableHeadSeq: number,
  ): Promise<{ fromSeq: number; toSeq: number; reason: string } | undefined> {
    if (head.seq === 0) return undefined;
    if (tableHeadSeq < head.seq)
      return {
        fromSeq: tableHeadSeq + 1,
        toSeq: head.seq,
        reason: `the newest entries ${tableHeadSeq + 1}…${head.seq} were deleted`,
      };
    const row = await this.#db
      .selectFrom('audit_log')
      .select('hash')
      .where('seq', '=', head.seq)
      .executeTakeFirst();
    if (!row)
      return {
        fromSeq: head.seq,
        toSeq: head.seq,
        reason: `the anchored head entry ${head.seq} was deleted`,
      };
    if (row.hash !== head.hash)
      return {
        fromSeq: head.seq,
        toSeq: head.seq,
        reason: `the entry at the anchored head ${head.seq} is not the one that was anchored (log rewritten)`,
      };
    return undefined;
  }

  /** An anchor file keyed like this log's (backups write one for their snapshot). */
  anchorAt(file: string): AuditAnchor {
    return new AuditAnchor(file, this.#key);
  }

  append(input: AuditInput): Promise<void> {
    return this.appendWith(input, async () => {});
  }

  /**
   * Appends `input` (one entry, or several in order) and makes `change` — the change the entries
   * record — in one transaction, the entries first: no reader sees the change before its entries,
   * and a crash leaves all or none, so a rerun after recovery writes each entry once. `change` gets
   * the transaction and must not append to this log (appends are serialized: it would wait for itself).
   */
  appendWith<T>(input: AuditInput | readonly AuditInput[], change: (trx: Db) => Promise<T>): Promise<T> {
    const inputs: readonly AuditInput[] = Array.isArray(input) ? input : [input as AuditInput];
    const run = this.#tail.then(() => this.#append(inputs, change));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #append<T>(inputs: readonly AuditInput[], change: (trx: Db) => Promise<T>): Promise<T> {
    if (!this.#headLoaded) {
      const last = await this.#loadHead();
      this.#headLoaded = true;
      // A log written by an unkeyed (older) core: a keyed entry names its last entry once, so
      // the unkeyed part cannot be replaced later without breaking that entry.
      if (last && this.#adoptUnkeyed && (await this.#isLegacyHead(last.seq)))
        await this.#insert(
          [
            {
              actor: 'core',
              action: ADOPTED_ACTION,
              outcome: 'ok',
              details: { legacyHead: { seq: last.seq, hash: last.hash } },
            },
          ],
          async () => {},
        );
    }
    return this.#insert(inputs, change);
  }

  async #isLegacyHead(seq: number): Promise<boolean> {
    const row = await this.#db.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirst();
    return (
      !!row &&
      row.hash !== entryMac(this.#key, row.prev_hash, row) &&
      row.hash === legacyHash(row.prev_hash, row)
    );
  }

  async #insert<T>(inputs: readonly AuditInput[], change: (trx: Db) => Promise<T>): Promise<T> {
    const postgres = dialectOf(this.#db) === 'postgres';
    const { row, changed } = await this.#db.transaction().execute(async (trx) => {
      // Several nodes append to one PostgreSQL log: the head is read and extended under a
      // transaction-scoped lock, so the chain never forks and sequence numbers have no gaps.
      if (postgres) await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
      let head = await trx
        .selectFrom('audit_log')
        .select(['seq', 'hash', 'ts'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      for (const input of inputs) {
        const details = input.details === undefined ? null : JSON.stringify(input.details);
        const entry = {
          seq: (head?.seq ?? 0) + 1,
          ts: new Date().toISOString(),
          actor: input.actor,
          tenant: input.tenant ?? null,
          action: input.action,
          target: input.target ?? null,
          outcome: input.outcome,
          details,
          details_hash: sha256(details ?? ''),
          prev_hash: head?.hash ?? GENESIS_HASH,
          hash: '',
        };
        entry.hash = entryMac(this.#key, entry.prev_hash, entry);
        await trx.insertInto('audit_log').values(entry).execute();
        head = entry;
      }
      return { row: inputs.length ? head : undefined, changed: await change(trx) };
    });
    // After the commit, never before: an anchor behind the table is harmless, one ahead is a false alarm.
    if (this.#anchor && this.#anchorState && row) {
      this.#anchorState = {
        ...this.#anchorState,
        head: { seq: row.seq, hash: row.hash, ts: row.ts },
      };
      // The entry is committed: a failed anchor write (full disk) leaves the anchor behind, which is
      // harmless, so it must not turn the caller's committed operation into an error.
      await this.#anchor.write(this.#anchorState).catch((error: unknown) => this.#onAnchorError?.(error));
    }
    return changed;
  }

  /** Waits for queued appends (used before reading, and on shutdown). */
  async flush(): Promise<void> {
    await this.#tail;
  }

  async query(q: AuditQuery): Promise<{ entries: AuditEntry[]; nextBefore?: number }> {
    await this.flush();
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    let query = this.#db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(limit + 1);
    if (q.tenant) query = query.where('tenant', '=', q.tenant);
    if (q.scope) {
      const { tenants, actor } = q.scope;
      // Members see their tenants' entries and their own actions anywhere.
      query = query.where((eb) =>
        tenants.length
          ? eb.or([eb('tenant', 'in', tenants), eb('actor', '=', actor)])
          : eb('actor', '=', actor),
      );
    }
    if (q.actor) query = query.where('actor', '=', q.actor);
    if (q.action)
      query = q.action.endsWith('*')
        ? query.where('action', 'like', `${q.action.slice(0, -1)}%`)
        : query.where('action', '=', q.action);
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
    // Read before walking: entries appended during the walk may be newer than the anchor, never older.
    const anchorRead = this.#anchor ? await this.#anchor.read() : undefined;
    const { keyed, ...chain } = await verifyChain(this.#db, this.#key);
    if (!anchorRead) return chain;
    if (anchorRead.kind !== 'ok') {
      const problem =
        anchorRead.kind === 'missing'
          ? 'the audit head anchor (audit-head.json) is missing'
          : `the audit head anchor is unreadable (${anchorRead.reason})`;
      // An empty log with no anchor yet is a fresh data dir.
      if (chain.entries === 0 && anchorRead.kind === 'missing') return { ...chain, anchor: null };
      return {
        ...chain,
        ok: false,
        anchor: null,
        reason: chain.ok ? `${problem}: truncation cannot be ruled out` : `${chain.reason}; and ${problem}`,
      };
    }
    const state = anchorRead.state;
    if (anchorRead.unkeyed && keyed)
      return {
        ...chain,
        ok: false,
        anchor: state.head,
        reason: chain.ok
          ? 'the audit head anchor has no keyed hash although the log is keyed: it was replaced'
          : chain.reason,
      };
    const result: AuditVerifyResult = {
      ...chain,
      anchor: state.head,
      ...(state.truncations.length ? { truncations: state.truncations } : {}),
    };
    const tableHead = await this.#db
      .selectFrom('audit_log')
      .select('seq')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const lost = await this.#lostSince(state.head, tableHead?.seq ?? 0);
    const known = lost ? { ...lost, lostHeadHash: state.head.hash } : state.truncations[0];
    if (!known) {
      if (!state.establishedFromTable) return result;
      return {
        ...result,
        ok: false,
        reason: chain.ok
          ? `the head anchor was re-created from the table at ${state.establishedFromTable.at} (${state.establishedFromTable.reason}): entries deleted before then cannot be ruled out`
          : chain.reason,
      };
    }
    const truncation = known.reason;
    return {
      ...result,
      ok: false,
      missing: { fromSeq: known.fromSeq, toSeq: known.toSeq },
      firstBadSeq: chain.firstBadSeq ?? known.fromSeq,
      reason: chain.ok ? truncation : `${chain.reason}; and ${truncation}`,
    };
  }
}
