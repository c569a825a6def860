/**
 * The audit head anchor of a cluster (audit-anchor.ts explains the anchor): one key in the
 * `<prefix>_audit` KV bucket (no TTL), outside PostgreSQL like the file is outside SQLite, and
 * shared by every node appending to the one chain. Writes merge under compare-and-set: the head
 * only moves forward (a node writing late never moves it back) and no node's recorded
 * truncation is ever dropped by another's write. Like the file anchor it carries a MAC under the
 * audit key, so someone who can write NATS but has not the key cannot move it to match a
 * shortened log.
 */
import type { KV } from '@nats-io/kv';
import type { AnchorRead, AnchorState, AnchorStore } from '../audit/audit-anchor.ts';
import { valueMac } from '../audit/audit-hash.ts';

const KEY = 'head';

export class KvAuditAnchor implements AnchorStore {
  readonly #kv: KV;
  readonly #key: Buffer;

  constructor(kv: KV, key: Buffer) {
    this.#kv = kv;
    this.#key = key;
  }

  async read(): Promise<AnchorRead> {
    const e = await this.#kv.get(KEY);
    if (!e || e.operation !== 'PUT') return { kind: 'missing' };
    try {
      const { mac, ...state } = e.json<AnchorState & { mac?: string }>();
      if (typeof state?.head?.seq !== 'number' || !Array.isArray(state.truncations))
        return { kind: 'unreadable', reason: 'not an audit head anchor' };
      if (mac !== valueMac(this.#key, state))
        return {
          kind: 'unreadable',
          reason: 'its keyed hash does not match: it was written by someone without the audit key',
        };
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
          const { mac, ...value } = e.json<AnchorState & { mac?: string }>();
          // A forged value is not merged in: this node's own state replaces it.
          stored = mac === valueMac(this.#key, value) ? value : undefined;
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
        const text = JSON.stringify({ ...next, mac: valueMac(this.#key, next) });
        if (e && e.operation === 'PUT') await this.#kv.update(KEY, text, e.revision);
        else await this.#kv.create(KEY, text);
        return;
      } catch {
        // another node wrote meanwhile: merge again
      }
    }
  }
}
