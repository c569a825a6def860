/**
 * The audit head anchor: the sequence number and hash of the newest audit entry, kept OUTSIDE the
 * database in `<data dir>/audit-head.json` (mode 0600, written atomically by storage/atomic-file.ts, so
 * it is either the old or the new head, never half of one).
 *
 * Why a file and not a table: the hash chain already protects every row against edits and against
 * removal in the middle; what it cannot see is the newest rows being deleted (the shorter chain
 * is still a valid chain). Anything stored in the same SQLite file is removed by the same
 * `DELETE`/rewrite that removes those rows, so the anchor must live elsewhere. The file is
 * written after the row is committed: a crash between the two leaves the anchor one entry BEHIND,
 * which is harmless (rows after the anchor are still checked by the chain), never ahead (which
 * would look like a truncation).
 *
 * The anchor carries a MAC under the audit key (`mac`), so it cannot be edited to match a
 * shortened or rewritten log by someone who can write the data folder but has not the key. An
 * anchor without a MAC (written by an older, unkeyed core) is read as such (`unkeyed`).
 *
 * A truncation noticed when core loads the head (before its first append) is recorded in the
 * anchor file itself (`truncations`), so it keeps being reported by `GET /api/audit/verify` even
 * after new entries were appended on top of the shorter chain.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../storage/atomic-file.ts';
import { valueMac } from './audit-hash.ts';

export interface AuditHead {
  seq: number;
  hash: string;
  ts: string;
}

export interface AuditTruncation {
  /** First and last sequence number that were lost (inclusive). */
  fromSeq: number;
  toSeq: number;
  /** Hash of the lost head, as it was anchored. */
  lostHeadHash: string;
  detectedAt: string;
  reason: string;
}

export interface AnchorState {
  head: AuditHead;
  truncations: AuditTruncation[];
  /** Set when the anchor had to be (re)created from the table: a missing anchor is itself suspicious. */
  establishedFromTable?: { at: string; seq: number; reason: string };
}

export type AnchorRead =
  | { kind: 'ok'; state: AnchorState; unkeyed?: boolean }
  | { kind: 'missing' }
  | { kind: 'unreadable'; reason: string };

/** Where the anchor is kept: a file next to the embedded store, a NATS KV key in a cluster. */
export interface AnchorStore {
  read(): Promise<AnchorRead>;
  write(state: AnchorState): Promise<void>;
}

export class AuditAnchor implements AnchorStore {
  readonly file: string;
  readonly #key: Buffer;

  constructor(file: string, key: Buffer) {
    this.file = file;
    this.#key = key;
  }

  async read(): Promise<AnchorRead> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'unreadable', reason: (error as Error).message };
    }
    try {
      const { mac, ...state } = JSON.parse(text) as AnchorState & { mac?: string };
      if (
        typeof state?.head?.seq !== 'number' ||
        typeof state.head.hash !== 'string' ||
        !Array.isArray(state.truncations)
      )
        return { kind: 'unreadable', reason: 'not an audit head anchor' };
      if (mac === undefined) return { kind: 'ok', state, unkeyed: true };
      if (mac !== valueMac(this.#key, state))
        return {
          kind: 'unreadable',
          reason: 'its keyed hash does not match: it was edited by someone without the audit key',
        };
      return { kind: 'ok', state };
    } catch {
      return { kind: 'unreadable', reason: 'not valid JSON' };
    }
  }

  async write(state: AnchorState): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ ...state, mac: valueMac(this.#key, state) })}\n`, {
      mode: 0o600,
    });
  }
}
