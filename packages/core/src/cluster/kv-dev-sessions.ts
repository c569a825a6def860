/**
 * Dev sessions of a cluster (dev/dev-session-store.ts says what a session is), in the
 * `<prefix>_devsessions` KV bucket every node shares: a session opened through node B is
 * heartbeated, claimed and ended through node C, and lives on when B dies.
 *
 * Keys (ids base64url-encoded, see leaseKey):
 * - `lock.<tenant>.<plugin>` → the session holding the plugin. The bucket has no TTL: the idle
 *   timeout comes from the dev policy, may change at runtime and is longer than the lease TTL, so
 *   the value carries `expiresAt` and an entry past it counts as free. Every write is a
 *   compare-and-set on the revision that was read, so two nodes never both grant the plugin.
 * - `user.<userId>` → the sessions a user holds, for the per-user limit across the cluster. An
 *   open reserves its session there (compare-and-set) before it writes the lock; the reservation
 *   counts while its lock holds that session — or, for RESERVE_GRACE_MS, while the lock write is
 *   still on its way. End and expiry take it out again.
 *
 * Expiry: every node sweeps the locks; the one whose compare-and-set delete of an expired lock
 * succeeds reports it, so the audit entry and bus event come once per cluster. A heartbeat racing
 * the sweep either lands first (the delete then fails on the revision) or finds the session gone.
 * Expiry compares `expiresAt` with each node's own clock: nodes need their clocks in step (NTP).
 */
import { randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { NotFoundError, PxError, type DevSession } from '@powerx/protocol';
import {
  isLive,
  newSession,
  publicView,
  refreshed,
  sessionConflict,
  settingsReader,
  wrongPlugin,
  type DevSessionStore,
  type SessionHolder,
  type SessionSettings,
  type StoredSession,
} from '../dev/dev-session-store.ts';
import { leaseKey } from './leases.ts';

/** How long a reservation counts before its lock is written (one round trip normally). */
const RESERVE_GRACE_MS = 15_000;
/** Compare-and-set retries before giving up on a key other nodes keep writing. */
const ATTEMPTS = 20;

interface Lock {
  key: string;
  session: StoredSession;
  revision: number;
}

interface UserSessions {
  /** session id → its lock key and when it was reserved (ms). */
  sessions: Record<string, { key: string; at: number }>;
}

export class KvDevSessions implements DevSessionStore {
  readonly #kv: KV;
  readonly #settings: () => SessionSettings;
  readonly #now: () => number;
  /** Session id → its lock key, as this node last saw it: a hint, always checked against the bucket. */
  readonly #keyOf = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #onExpired: ((session: DevSession) => void) | undefined;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(kv: KV, settings: number | (() => SessionSettings), now: () => number = Date.now) {
    this.#kv = kv;
    this.#settings = settingsReader(settings);
    this.#now = now;
  }

  get ttlMs(): number {
    return this.#settings().ttlMs;
  }

  /** Nothing to read: the bucket is the state, shared with the other nodes. */
  async load(): Promise<void> {}

  startExpiry(onExpired: (session: DevSession) => void, everyMs = 1000): void {
    this.#onExpired = onExpired;
    let running = false;
    this.#timer = setInterval(() => {
      if (running) return;
      running = true;
      this.#sweeping = this.sweep()
        .then((expired) => expired.forEach(onExpired))
        // NATS unreachable for a moment: the next sweep tries again.
        .catch(() => {})
        .finally(() => (running = false));
    }, everyMs);
    this.#timer.unref();
  }

  /** Deletes the expired locks this node wins the delete of, and returns their sessions. */
  async sweep(): Promise<DevSession[]> {
    const expired: DevSession[] = [];
    for (const key of await this.#keys('lock.>')) {
      const lock = await this.#read(key);
      if (!lock || isLive(lock.session, this.#now())) continue;
      if (!(await this.#delete(lock))) continue; // another node expired it, or a heartbeat came
      expired.push(publicView(lock.session));
      await this.#unreserve(lock.session.userId, lock.session.id);
    }
    return expired;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  async holderOf(tenant: string, pluginId: string): Promise<DevSession | undefined> {
    const lock = await this.#read(lockKey(tenant, pluginId));
    return lock && isLive(lock.session, this.#now()) ? publicView(lock.session) : undefined;
  }

  async list(tenant: string): Promise<DevSession[]> {
    const sessions: DevSession[] = [];
    for (const key of await this.#keys(`${leaseKey('lock', tenant)}.*`)) {
      const lock = await this.#read(key);
      if (lock && isLive(lock.session, this.#now())) sessions.push(publicView(lock.session));
    }
    return sessions.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(id: string): Promise<(DevSession & { userId: string }) | undefined> {
    const lock = await this.#find(id);
    return lock && { ...publicView(lock.session), userId: lock.session.userId };
  }

  async open(tenant: string, pluginId: string, holder: SessionHolder, id?: string): Promise<DevSession> {
    const key = lockKey(tenant, pluginId);
    for (let attempt = 0; ; attempt++) {
      const current = await this.#read(key);
      const live = current && isLive(current.session, this.#now()) ? current.session : undefined;
      if (live && live.id !== id) throw sessionConflict(publicView(live));
      const { ttlMs, maxPerUser } = this.#settings();
      const session = newSession(
        { id: live?.id ?? id ?? `ds_${randomUUID()}`, tenant, pluginId, holder, createdAt: live?.createdAt },
        this.#now(),
        ttlMs,
      );
      // A new session counts against the user's limit; re-opening one's own is a heartbeat.
      if (!live) await this.#reserve(holder.userId, session.id, key, maxPerUser);
      try {
        await this.#write(key, session, current?.revision);
        if (current && !live) await this.#expiredBy(current);
        return publicView(session);
      } catch (error) {
        if (!live) await this.#unreserve(holder.userId, session.id);
        // Someone wrote the lock since we read it: read again (a conflict, or a heartbeat of ours).
        if (!isCasFailure(error) || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  /**
   * An open that replaced an expired lock before any sweep deleted it: its compare-and-set won
   * over the sweeps, so it reports the expiry (once, like a sweep would).
   */
  async #expiredBy(replaced: Lock): Promise<void> {
    this.#keyOf.delete(replaced.session.id);
    await this.#unreserve(replaced.session.userId, replaced.session.id);
    this.#onExpired?.(publicView(replaced.session));
  }

  async heartbeat(id: string): Promise<DevSession> {
    for (let attempt = 0; ; attempt++) {
      const lock = await this.#find(id);
      if (!lock) throw new NotFoundError('DEV_SESSION_NOT_FOUND', { session: id });
      const next = refreshed(lock.session, this.#now(), this.ttlMs);
      try {
        await this.#write(lock.key, next, lock.revision);
        return publicView(next);
      } catch (error) {
        // Another heartbeat of the same session (through another node), or the sweep deleted it.
        if (!isCasFailure(error) || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  async claim(
    tenant: string,
    pluginId: string,
    holder: SessionHolder,
    sessionId?: string,
  ): Promise<DevSession> {
    if (sessionId) {
      const lock = await this.#find(sessionId);
      if (!lock) throw new NotFoundError('DEV_SESSION_NOT_FOUND', { session: sessionId });
      if (lock.session.tenant !== tenant || lock.session.pluginId !== pluginId)
        throw wrongPlugin(sessionId, publicView(lock.session), tenant, pluginId);
      return this.heartbeat(sessionId);
    }
    const current = await this.#read(lockKey(tenant, pluginId));
    const live = current && isLive(current.session, this.#now()) ? current.session : undefined;
    if (live && !(live.client === holder.client && live.userId === holder.userId))
      throw sessionConflict(publicView(live));
    if (live) return this.heartbeat(live.id);
    return this.open(tenant, pluginId, holder);
  }

  async end(id: string): Promise<DevSession | undefined> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const lock = await this.#find(id, { expiredToo: true });
      if (!lock) return undefined;
      if (await this.#delete(lock)) {
        await this.#unreserve(lock.session.userId, id);
        return publicView(lock.session);
      }
    }
    return undefined;
  }

  async endFor(tenant: string, pluginId: string): Promise<void> {
    const s = await this.holderOf(tenant, pluginId);
    if (s) await this.end(s.id);
  }

  /** The lock holding session `id` (live only, unless `expiredToo`). */
  async #find(id: string, opts: { expiredToo?: boolean } = {}): Promise<Lock | undefined> {
    const matches = (lock: Lock | undefined): lock is Lock =>
      !!lock && lock.session.id === id && (!!opts.expiredToo || isLive(lock.session, this.#now()));
    const hint = this.#keyOf.get(id);
    if (hint) {
      const lock = await this.#read(hint);
      if (matches(lock)) return lock;
    }
    // Opened through another node (or the hint is stale): look through the locks.
    for (const key of await this.#keys('lock.>')) {
      if (key === hint) continue;
      const lock = await this.#read(key);
      if (matches(lock)) return lock;
    }
    this.#keyOf.delete(id);
    return undefined;
  }

  async #read(key: string): Promise<Lock | undefined> {
    const e = await this.#kv.get(key);
    if (!e || e.operation !== 'PUT') return undefined;
    let session: StoredSession;
    try {
      session = e.json<StoredSession>();
    } catch {
      return undefined;
    }
    this.#keyOf.set(session.id, key);
    return { key, session, revision: e.revision };
  }

  /** Compare-and-set: creates the lock when `revision` is undefined (none read), else replaces that revision. */
  async #write(key: string, session: StoredSession, revision: number | undefined): Promise<void> {
    const text = JSON.stringify(session);
    if (revision === undefined) await this.#kv.create(key, text);
    else await this.#kv.update(key, text, revision);
    this.#keyOf.set(session.id, key);
  }

  /** Compare-and-set delete; false when the lock changed since it was read. */
  async #delete(lock: Lock): Promise<boolean> {
    try {
      await this.#kv.delete(lock.key, { previousSeq: lock.revision });
      this.#keyOf.delete(lock.session.id);
      return true;
    } catch (error) {
      if (isCasFailure(error)) return false;
      throw error;
    }
  }

  async #keys(filter: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await this.#kv.keys(filter)) keys.push(key);
    return keys;
  }

  /** Adds a session to its user's list, refusing beyond `maxPerUser` live ones across the cluster. */
  async #reserve(userId: string, id: string, key: string, maxPerUser: number): Promise<void> {
    await this.#updateUser(userId, async (held) => {
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
  async #unreserve(userId: string, id: string): Promise<void> {
    await this.#updateUser(userId, async (held) => {
      if (!held.sessions[id]) return undefined;
      const { [id]: _gone, ...rest } = held.sessions;
      return { sessions: rest };
    }).catch(() => {});
  }

  async #holds(key: string, id: string): Promise<boolean> {
    const lock = await this.#read(key);
    return !!lock && lock.session.id === id && isLive(lock.session, this.#now());
  }

  /** Read, change, compare-and-set the user's list; `change` returning undefined writes nothing. */
  async #updateUser(
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
        // unreadable: start the list again (its locks still say who holds what)
      }
      const next = await change(held);
      if (!next) return;
      try {
        if (exists) await this.#kv.update(key, JSON.stringify(next), e.revision);
        else await this.#kv.create(key, JSON.stringify(next));
        return;
      } catch (error) {
        if (!isCasFailure(error) || attempt >= ATTEMPTS) throw error;
      }
    }
  }
}

function lockKey(tenant: string, pluginId: string): string {
  return leaseKey('lock', tenant, pluginId);
}

/** The write lost a compare-and-set: the key changed since it was read. */
function isCasFailure(error: unknown): boolean {
  if (error instanceof JetStreamApiError)
    return (
      error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
    );
  return /wrong last sequence/i.test((error as Error)?.message ?? '');
}
