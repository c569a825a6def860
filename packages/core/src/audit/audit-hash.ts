/**
 * The hashes of the audit chain. Each entry's hash is an HMAC-SHA256 under the audit key, over the
 * previous entry's hash and every field of the entry (details by their own SHA-256, so retention
 * can drop old details without breaking the chain). The key never lives in the data folder
 * (config/audit-key.ts), so whoever can write core.db and audit-head.json cannot recompute a
 * rewritten chain that verifies.
 *
 * `legacyHash` is the unkeyed SHA-256 chain of earlier versions: a log that started unkeyed is
 * adopted once by a keyed `audit.key.adopted` entry naming its last unkeyed entry (audit-log.ts).
 */
import { createHash, createHmac } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);
export const ADOPTED_ACTION = 'audit.key.adopted';
export const RETENTION_ACTION = 'audit.details.cleared';

export interface ChainFields {
  ts: string;
  actor: string;
  tenant: string | null;
  action: string;
  target: string | null;
  outcome: string;
  details_hash: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** details_hash of an entry without details. */
export const NO_DETAILS_HASH = sha256('');

function material(prevHash: string, e: ChainFields): string {
  return [prevHash, e.ts, e.actor, e.tenant ?? '', e.action, e.target ?? '', e.outcome, e.details_hash].join(
    '\n',
  );
}

export function entryMac(key: Buffer, prevHash: string, e: ChainFields): string {
  return createHmac('sha256', key).update(material(prevHash, e)).digest('hex');
}

export function legacyHash(prevHash: string, e: ChainFields): string {
  return sha256(material(prevHash, e));
}

/** A MAC over any JSON value (the head anchor file carries one). */
export function valueMac(key: Buffer, value: unknown): string {
  return createHmac('sha256', key).update(JSON.stringify(value)).digest('hex');
}

/** Sorted sequence numbers as inclusive ranges: [1,2,3,7] → [[1,3],[7,7]]. */
export function toRanges(seqs: number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const seq of seqs) {
    const last = ranges[ranges.length - 1];
    if (last && seq === last[1] + 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}
