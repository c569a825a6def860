/**
 * The embedded default's dev sessions (dev-session-store.ts says what a session is): in memory,
 * written to <dataDir>/dev-sessions.json on open and end, so a core restart during a session
 * does not break it: on start each one gets a fresh ttl, and a CLI that is still there resumes
 * with its heartbeats; one that is gone expires as usual. Expiry does not uninstall: the last
 * version keeps serving (an explicit end without --keep does uninstall; see dev-service.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
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
} from './dev-session-store.ts';

export type { SessionHolder, SessionSettings } from './dev-session-store.ts';

export class FileDevSessions implements DevSessionStore {
  readonly #file: string;
  readonly #settings: () => SessionSettings;
  readonly #now: () => number;
  readonly #sessions = new Map<string, StoredSession>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  /** `now`: the clock (tests pass their own). */
  constructor(file: string, settings: number | (() => SessionSettings), now: () => number = Date.now) {
    this.#file = file;
    this.#settings = settingsReader(settings);
    this.#now = now;
  }

  get ttlMs(): number {
    return this.#settings().ttlMs;
  }

  async load(): Promise<void> {
    const text = await readFile(this.#file, 'utf8').catch(() => undefined);
    if (!text) return;
    try {
      for (const s of JSON.parse(text) as StoredSession[])
        this.#sessions.set(s.id, refreshed(s, this.#now(), this.ttlMs));
    } catch {
      // a torn file from a crash: sessions are re-opened by their CLIs
    }
  }

  startExpiry(onExpired: (session: DevSession) => void, everyMs = 1000): void {
    this.#timer = setInterval(() => {
      for (const s of this.sweep()) onExpired(s);
    }, everyMs);
    this.#timer.unref();
  }

  /** Removes the sessions past their expiry and returns them (the expiry timer calls it). */
  sweep(): DevSession[] {
    const now = this.#now();
    const expired: DevSession[] = [];
    for (const s of this.#sessions.values()) {
      if (isLive(s, now)) continue;
      this.#sessions.delete(s.id);
      expired.push(publicView(s));
    }
    if (expired.length) void this.#persist();
    return expired;
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    return this.#writing;
  }

  async holderOf(tenant: string, pluginId: string): Promise<DevSession | undefined> {
    const s = this.#holder(tenant, pluginId);
    return s && publicView(s);
  }

  async list(tenant: string): Promise<DevSession[]> {
    const now = this.#now();
    return [...this.#sessions.values()]
      .filter((s) => s.tenant === tenant && isLive(s, now))
      .map(publicView)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(id: string): Promise<(DevSession & { userId: string }) | undefined> {
    const s = this.#live(id);
    return s && { ...publicView(s), userId: s.userId };
  }

  async open(tenant: string, pluginId: string, holder: SessionHolder, id?: string): Promise<DevSession> {
    const current = this.#holder(tenant, pluginId);
    if (current && current.id !== id) throw sessionConflict(publicView(current));
    const { ttlMs, maxPerUser } = this.#settings();
    const now = this.#now();
    if (!current) {
      const held = [...this.#sessions.values()].filter(
        (s) => s.userId === holder.userId && isLive(s, now),
      ).length;
      if (held >= maxPerUser) throw new PxError('DEV_SESSION_LIMIT', { count: held, limit: maxPerUser });
    }
    const session = newSession(
      { id: id ?? `ds_${randomUUID()}`, tenant, pluginId, holder, createdAt: current?.createdAt },
      now,
      ttlMs,
    );
    this.#sessions.set(session.id, session);
    await this.#persist();
    return publicView(session);
  }

  async heartbeat(id: string): Promise<DevSession> {
    const s = this.#live(id);
    if (!s) throw new NotFoundError('DEV_SESSION_NOT_FOUND', { session: id });
    return publicView(this.#refresh(s));
  }

  async claim(
    tenant: string,
    pluginId: string,
    holder: SessionHolder,
    sessionId?: string,
  ): Promise<DevSession> {
    if (sessionId) {
      const s = this.#live(sessionId);
      if (!s) throw new NotFoundError('DEV_SESSION_NOT_FOUND', { session: sessionId });
      if (s.tenant !== tenant || s.pluginId !== pluginId)
        throw wrongPlugin(sessionId, publicView(s), tenant, pluginId);
      return publicView(this.#refresh(s));
    }
    const current = this.#holder(tenant, pluginId);
    if (current && !(current.client === holder.client && current.userId === holder.userId))
      throw sessionConflict(publicView(current));
    if (current) return publicView(this.#refresh(current));
    return this.open(tenant, pluginId, holder);
  }

  async end(id: string): Promise<DevSession | undefined> {
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    this.#sessions.delete(id);
    await this.#persist();
    return publicView(s);
  }

  async endFor(tenant: string, pluginId: string): Promise<void> {
    const s = this.#holder(tenant, pluginId);
    if (s) await this.end(s.id);
  }

  #holder(tenant: string, pluginId: string): StoredSession | undefined {
    const now = this.#now();
    for (const s of this.#sessions.values())
      if (s.tenant === tenant && s.pluginId === pluginId && isLive(s, now)) return s;
    return undefined;
  }

  #live(id: string): StoredSession | undefined {
    const s = this.#sessions.get(id);
    return s && isLive(s, this.#now()) ? s : undefined;
  }

  #refresh(s: StoredSession): StoredSession {
    const next = refreshed(s, this.#now(), this.ttlMs);
    this.#sessions.set(s.id, next);
    return next;
  }

  #persist(): Promise<void> {
    const snapshot = JSON.stringify([...this.#sessions.values()]);
    this.#writing = this.#writing
      .then(async () => {
        const tmp = `${this.#file}.tmp`;
        await writeFile(tmp, snapshot, { mode: 0o600 });
        await rename(tmp, this.#file);
      })
      .catch(() => {});
    return this.#writing;
  }
}
