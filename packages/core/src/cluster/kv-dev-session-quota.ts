/**
 * The per-user limit of dev sessions (`sessions.maxPerUser`) across a cluster: one key per user,
 * `user.<userId>`, in the dev sessions bucket, listing the sessions the user holds. An open
 * reserves its session there (compare-and-set, so two opens at once through two nodes cannot both
 * take the last slot) before it writes the plugin's lock; a reservation counts while its lock
 * holds that session — or, for RESERVE_GRACE_MS, while the lock write is still on its way. End and
 * expiry take it out again; one a crashed node left behind stops counting once its lock is gone.
 */
import type { KV } from '@nats-io/kv';
import { PxError } from '@powerx/protocol';
import { leaseKey } from './leases.ts';
import { CAS_ATTEMPTS, isCasFailure } from './kv-cas.ts';

/** How long a reservation counts before its lock is written (one round trip normally). */
const RESERVE_GRACE_MS = 15_000;

interface UserSessions {
  /** session id → its lock key and when it was reserved (ms). */
  sessions: Record<string, { key: string; at: number }>;
}

export class KvSessionQuota {
  readonly #kv: KV;
  /** Whether the lock `key` holds live session `id`. */
  readonly #holds: (key: string, id: string) => Promise<boolean>;
  readonly #now: () => number;

  constructor(kv: KV, holds: (key: string, id: string) => Promise<boolean>, now: () => number) {
    this.#kv = kv;
    this.#holds = holds;
    this.#now = now;
  }

  /** Adds session `id` (for lock `key`) to the user's list; DEV_SESSION_LIMIT beyond `maxPerUser`. */
  async reserve(userId: string, id: string, key: string, maxPerUser: number): Promise<void> {
    await this.#update(userId, async (held) => {
      const now = this.#now();
      const kept: UserSessions['sessions'] = {};
      for (const [other, r] of Object.entries(held.sessions)) {
        if (other === id) continue;
        if (now - r.at < RESERVE_GRACE_MS || (await this.#holds(r.key, other))) kept[other] = r;
      }
      const count = Object.keys(kept).length;
      if (count >= maxPerUser) throw new PxError('DEV_SESSION_LIMIT', { count, limit: maxPerUser });
      kept[id] = { key, at: now };
      return { sessions: kept };
    });
  }

  /** Takes a session off its user's list (best effort: a leftover stops counting once its lock is gone). */
  async release(userId: string, id: string): Promise<void> {
    await this.#update(userId, async (held) => {
      if (!held.sessions[id]) return undefined;
      const { [id]: _gone, ...rest } = held.sessions;
      return { sessions: rest };
    }).catch(() => {});
  }

  /** Read, change, compare-and-set the user's list; `change` returning undefined writes nothing. */
  async #update(
    userId: string,
    change: (held: UserSessions) => Promise<UserSessions | undefined>,
  ): Promise<void> {
    const key = leaseKey('user', userId);
    for (let attempt = 0; ; attempt++) {
      const e = await this.#kv.get(key);
      const exists = !!e && e.operation === 'PUT';
      let held: UserSessions = { sessions: {} };
      try {
        if (exists) held = e.json<UserSessions>();
      } catch {
        // unreadable: start the list again (the locks still say who holds what)
      }
      const next = await change(held);
      if (!next) return;
      try {
        if (exists) await this.#kv.update(key, JSON.stringify(next), e.revision);
        else await this.#kv.create(key, JSON.stringify(next));
        return;
      } catch (error) {
        if (!isCasFailure(error) || attempt >= CAS_ATTEMPTS) throw error;
      }
    }
  }
}
