/**
 * Walks the audit chain in the table and names the first entry that does not hold up, and what
 * about it differs: a gap in the sequence, a broken link to the previous entry, details that do
 * not match their hash, details removed without a retention marker, or fields that do not match
 * the entry's keyed hash. Checking the newest entries against the head anchor is audit-log.ts.
 */
import type { AuditLogTable, Db } from '../storage/schema.ts';
import {
  ADOPTED_ACTION,
  GENESIS_HASH,
  NO_DETAILS_HASH,
  RETENTION_ACTION,
  entryMac,
  legacyHash,
  sha256,
} from './audit-hash.ts';

type Row = Omit<AuditLogTable, 'seq'> & { seq: number };

export interface ChainResult {
  ok: boolean;
  entries: number;
  headHash: string;
  firstBadSeq?: number;
  reason?: string;
  /** Whether any entry is keyed (a log still entirely unkeyed has not been adopted yet). */
  keyed: boolean;
}

const describe = (row: Row) => `entry ${row.seq} (${row.action} by ${row.actor} at ${row.ts})`;

function parseDetails(row: Row): Record<string, unknown> | undefined {
  try {
    return row.details ? (JSON.parse(row.details) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Every row by ascending seq, read in pages (no driver cursor needed on either dialect). */
async function* rowsInOrder(db: Db): AsyncGenerator<Row> {
  let after = 0;
  for (;;) {
    const page = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq', 'asc')
      .limit(500)
      .execute();
    yield* page;
    if (page.length < 500) return;
    after = page[page.length - 1].seq;
  }
}

export async function verifyChain(db: Db, key: Buffer): Promise<ChainResult> {
  let prev = GENESIS_HASH;
  let count = 0;
  let lastSeq = 0;
  let keyed = false;
  let lastLegacy: { seq: number; hash: string } | undefined;
  const clearedWithoutDetails: Row[] = [];
  let firstRow: Row | undefined;
  const markers: Array<[number, number]> = [];
  const bad = (row: Row, what: string): ChainResult => ({
    ok: false,
    entries: count,
    headHash: prev,
    firstBadSeq: row.seq,
    reason: `${describe(row)}: ${what}`,
    keyed,
  });
  for await (const row of rowsInOrder(db)) {
    count++;
    firstRow ??= row;
    if (row.seq !== lastSeq + 1)
      return { ...bad(row, `entries ${lastSeq + 1}…${row.seq - 1} before it are missing`), keyed };
    lastSeq = row.seq;
    if (row.prev_hash !== prev)
      return bad(row, `its link to entry ${row.seq - 1} does not match (an entry was replaced or rewritten)`);
    if (row.details !== null && sha256(row.details) !== row.details_hash)
      return bad(row, 'its details differ from what was recorded');
    if (row.details === null && row.details_hash !== NO_DETAILS_HASH) clearedWithoutDetails.push(row);
    if (row.hash === entryMac(key, prev, row)) {
      if (!keyed && lastLegacy) {
        const head = parseDetails(row)?.legacyHead as { seq?: number; hash?: string } | undefined;
        if (row.action !== ADOPTED_ACTION || head?.seq !== lastLegacy.seq || head.hash !== lastLegacy.hash)
          return bad(
            row,
            `entries 1…${lastLegacy.seq} are not keyed and no keyed adoption entry vouches for them`,
          );
      }
      keyed = true;
    } else if (!keyed && row.hash === legacyHash(prev, row)) {
      lastLegacy = { seq: row.seq, hash: row.hash };
    } else {
      return bad(
        row,
        'its fields do not match its keyed hash (actor, tenant, action, target, outcome or time changed, or the entry was written without the audit key)',
      );
    }
    if (row.action === RETENTION_ACTION) {
      const ranges = parseDetails(row)?.ranges;
      if (Array.isArray(ranges)) markers.push(...(ranges as Array<[number, number]>));
    }
    prev = row.hash;
  }
  if (lastLegacy && !keyed)
    return bad(
      firstRow!,
      `entries 1…${lastLegacy.seq} are not keyed: written by a core without the audit key, or rewritten by someone without it`,
    );
  for (const row of clearedWithoutDetails) {
    if (!markers.some(([from, to]) => row.seq >= from && row.seq <= to))
      return bad(row, 'its details were removed without a retention marker');
  }
  return { ok: true, entries: count, headHash: prev, keyed };
}
