/**
 * The audit head anchor of a cluster (audit-anchor.ts explains the anchor): one key in the
 * `<prefix>_audit` KV bucket (no TTL), outside PostgreSQL like the file is outside SQLite, and
 * shared by every node appending to the one chain. Writes merge under compare-and-set: the head
 * only moves forward (a node writing late never moves it back) and no node's recorded
 * truncation is ever dropped by another's write.
 */
import type { KV } from '@nats-io/kv';
import type { AnchorRead, AnchorState, AnchorStore } from '../audit/audit-anchor.ts';

const KEY = 'head';

export class KvAuditAnchor implements AnchorStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  async read(): Promise<AnchorRead> {
    const e = await this.#kv.get(KEY);
    if (!e || e.operation !== 'PUT') return { kind: 'missing' };
    try {
      const state = e.json<AnchorState>();
      if (typeof state?.head?.seq !== 'number' || !Array.isArray(state.truncations))
        return { kind: 'unreadable', reason: 'not an audit head anchor' };
      return { kind: 'ok', state };
    } catch {
      return { kind: 'unreadable', reason: 'not valid JSON' };
    }
  }

  async write(state: AnchorState): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const e = await this.#kv.get(KEY);
      let next = state;
      if (e && e.operation === 'PUT') {
        let stored: AnchorState | undefined;
        try {
          stored = e.json<AnchorState>();
        } catch {
          stored = undefined;
        }
        if (stored) {
          const seen = new Set(stored.truncations.map((t) => `${t.fromSeq}-${t.toSeq}-${t.lostHeadHash}`));
          next = {
            head: stored.head.seq > state.head.seq ? stored.head : state.head,
            truncations: [
              ...stored.truncations,
              ...state.truncations.filter((t) => !seen.has(`${t.fromSeq}-${t.toSeq}-${t.lostHeadHash}`)),
            ],
            ...((stored.establishedFromTable ?? state.establishedFromTable)
              ? { establishedFromTable: stored.establishedFromTable ?? state.establishedFromTable }
              : {}),
          };
        }
      }
      try {
        if (e && e.operation === 'PUT') await this.#kv.update(KEY, JSON.stringify(next), e.revision);
        else await this.#kv.create(KEY, JSON.stringify(next));
        return;
      } catch {
        // another node wrote meanwhile: merge again
      }
    }
  }
}
