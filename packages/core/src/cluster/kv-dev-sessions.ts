/**
 * Dev sessions of a cluster (dev/dev-session-store.ts says what a session is), in the
 * `<prefix>_devsessions` KV bucket every node shares: a session opened through node B is
 * heartbeated, claimed and ended through node C, and lives on when B dies.
 *
 * `lock.<tenant>.<plugin>` (ids base64url-encoded, see leaseKey) holds the session that has the
 * plugin. The bucket has no TTL: the idle timeout comes from the dev policy, may change at
 * runtime and is longer than the lease TTL, so the value carries `expiresAt` and an entry past it
 * counts as free. Every write is a compare-and-set on the revision that was read, so two nodes
 * never both grant the plugin. The per-user limit is kept beside it (kv-dev-session-quota.ts).
 *
 * Expiry: every node watches the locks and sweeps the expired ones; the node whose
 * compare-and-set delete wins reports it, so the audit entry and bus event come once per cluster.
 * A heartbeat racing the sweep either lands first (the delete then fails on the revision) or finds
 * the session gone. Expiry compares `expiresAt` with each node's own clock: nodes need their
 * clocks in step (NTP).
 */
import { randomUUID } from 'node:crypto';
import type { KV, KvEntry } from '@nats-io/kv';
import { NotFoundError, type DevSession } from '@powerx/protocol';
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
import { CAS_ATTEMPTS, isCasFailure } from './kv-cas.ts';
import { KvSessionQuota } from './kv-dev-session-quota.ts';

interface Lock {
  key: string;
  session: StoredSession;
  revision: number;
}

export class KvDevSessions implements DevSessionStore {
  readonly #kv: KV;
  readonly #settings: () => SessionSettings;
  readonly #now: () => number;
  readonly #quota: KvSessionQuota;
  /** Every lock as the watch last saw it (for the sweep, lists and finding a session by id). */
  readonly #seen = new Map<string, Lock>();
  /** Session id → its lock key: a hint, always checked against the bucket. */
  readonly #keyOf = new Map<string, string>();
  #watch: { stop(): void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onExpired: ((session: DevSession) => void) | undefined;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(kv: KV, settings: number | (() => SessionSettings), now: () => number = Date.now) {
    this.#kv = kv;
    this.#settings = settingsReader(settings);
    this.#now = now;
    this.#quota = new KvSessionQuota(kv, (key, id) => this.#holds(key, id), now);
  }

  get ttlMs(): number {
    return this.#settings().ttlMs;
  }

  /** Starts watching the locks (the bucket is the state, shared with the other nodes). */
  async load(): Promise<void> {
    const watch = await this.#kv.watch({ key: 'lock.>' });
    this.#watch = watch;
    void (async () => {
      for await (const e of watch) this.#saw(e);
    })().catch(() => {});
  }

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
    for (const seen of [...this.#seen.values()]) {
      if (isLive(seen.session, this.#now())) continue;
      const lock = await this.#read(seen.key); // the watched copy may be behind a heartbeat
      if (!lock || isLive(lock.session, this.#now())) continue;
      if (!(await this.#delete(lock))) continue; // another node expired it, or a heartbeat came
      expired.push(publicView(lock.session));
      await this.#quota.release(lock.session.userId, lock.session.id);
    }
    return expired;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#watch?.stop();
    await this.#sweeping;
  }

  async holderOf(tenant: string, pluginId: string): Promise<DevSession | undefined> {
    const lock = await this.#read(lockKey(tenant, pluginId));
    return lock && isLive(lock.session, this.#now()) ? publicView(lock.session) : undefined;
  }

  async list(tenant: string): Promise<DevSession[]> {
    return [...this.#seen.values()]
      .map((lock) => lock.session)
      .filter((s) => s.tenant === tenant && isLive(s, this.#now()))
      .map(publicView)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
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
      if (!live) await this.#quota.reserve(holder.userId, session.id, key, maxPerUser);
      try {
        await this.#write(key, session, current?.revision);
      } catch (error) {
        if (!live) await this.#quota.release(holder.userId, session.id);
        // Someone wrote the lock since we read it: read again (a conflict, or a heartbeat of ours).
        if (!isCasFailure(error) || attempt >= CAS_ATTEMPTS) throw error;
        continue;
      }
      if (current && !live) await this.#expiredBy(current, session.id);
      return publicView(session);
    }
  }

  /**
   * An open that replaced an expired lock before any sweep deleted it: its compare-and-set won
   * over the sweeps, so it reports the expiry (once, like a sweep would).
   */
  async #expiredBy(replaced: Lock, by: string): Promise<void> {
    // (An expired session re-opened under its own id keeps the reservation just made.)
    if (replaced.session.id !== by) await this.#quota.release(replaced.session.userId, replaced.session.id);
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
        if (!isCasFailure(error) || attempt >= CAS_ATTEMPTS) throw error;
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
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const lock = await this.#find(id, { expiredToo: true });
      if (!lock) return undefined;
      if (await this.#delete(lock)) {
        await this.#quota.release(lock.session.userId, id);
        return publicView(lock.session);
      }
    }
    return undefined;
  }

  async endFor(tenant: string, pluginId: string): Promise<void> {
    const s = await this.holderOf(tenant, pluginId);
    if (s) await this.end(s.id);
  }

  /** The lock holding session `id` (live only, unless `expiredToo`), read from the bucket. */
  async #find(id: string, opts: { expiredToo?: boolean } = {}): Promise<Lock | undefined> {
    const matches = (lock: Lock | undefined): lock is Lock =>
      !!lock && lock.session.id === id && (!!opts.expiredToo || isLive(lock.session, this.#now()));
    const hint = this.#keyOf.get(id);
    if (hint) {
      const lock = await this.#read(hint);
      if (matches(lock)) return lock;
    }
    // Opened through another node a moment ago, before the watch brought it: look through the
    // bucket. (Rare — an unknown id is mostly a session that is gone — and it costs a consumer.)
    const keys: string[] = [];
    for await (const key of await this.#kv.keys('lock.>')) keys.push(key);
    for (const key of keys) {
      if (key === hint) continue;
      const lock = await this.#read(key);
      if (matches(lock)) return lock;
    }
    this.#keyOf.delete(id);
    return undefined;
  }

  async #holds(key: string, id: string): Promise<boolean> {
    const lock = await this.#read(key);
    return !!lock && lock.session.id === id && isLive(lock.session, this.#now());
  }

  async #read(key: string): Promise<Lock | undefined> {
    const e = await this.#kv.get(key);
    if (!e || e.operation !== 'PUT') return undefined;
    const session = parse(e);
    if (!session) return undefined;
    this.#keyOf.set(session.id, key);
    return { key, session, revision: e.revision };
  }

  /** Compare-and-set: creates the lock if none was read, else replaces the revision read. */
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

  #saw(e: KvEntry): void {
    const prior = this.#seen.get(e.key);
    if (prior && prior.revision > e.revision) return;
    const session = e.operation === 'PUT' ? parse(e) : undefined;
    if (!session) {
      if (prior && this.#keyOf.get(prior.session.id) === e.key) this.#keyOf.delete(prior.session.id);
      this.#seen.delete(e.key);
      return;
    }
    this.#seen.set(e.key, { key: e.key, session, revision: e.revision });
    this.#keyOf.set(session.id, e.key);
  }
}

function lockKey(tenant: string, pluginId: string): string {
  return leaseKey('lock', tenant, pluginId);
}

function parse(e: KvEntry): StoredSession | undefined {
  try {
    return e.json<StoredSession>();
  } catch {
    return undefined;
  }
}
