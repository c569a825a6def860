/**
 * Dev sessions: at most one per (tenant, plugin). A session belongs to whoever opened it (a
 * `px-plugin dev` process, identified by the session id it holds) and lives as long as its
 * heartbeats come; when the CLI goes away (killed, laptop closed) it expires after `ttlMs`
 * and frees the plugin for someone else. Expiry does not uninstall: the last version keeps
 * serving (an explicit end without --keep does uninstall; see dev-service.ts).
 *
 * Sessions are written to <dataDir>/dev-sessions.json on open and end, so a core restart during
 * a session does not break it: on start each one gets a fresh ttl, and a CLI that is still
 * there resumes with its heartbeats; one that is gone expires as usual.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConflictError, NotFoundError, PxError, type DevSession } from '@powerx/protocol';

export interface SessionHolder {
  userId: string;
  username: string;
  client: string;
}

interface StoredSession extends DevSession {
  userId: string;
}

/** From the dev policy, read at each use so a re-read policy applies without a restart. */
export interface SessionSettings {
  ttlMs: number;
  maxPerUser: number;
}

export class DevSessions {
  readonly #file: string;
  readonly #settings: () => SessionSettings;
  readonly #sessions = new Map<string, StoredSession>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, settings: number | (() => SessionSettings)) {
    this.#file = file;
    this.#settings =
      typeof settings === 'number' ? () => ({ ttlMs: settings, maxPerUser: Infinity }) : settings;
  }

  get ttlMs(): number {
    return this.#settings().ttlMs;
  }

  async load(): Promise<void> {
    const text = await readFile(this.#file, 'utf8').catch(() => undefined);
    if (!text) return;
    try {
      for (const s of JSON.parse(text) as StoredSession[]) this.#sessions.set(s.id, this.#refresh(s));
    } catch {
      // a torn file from a crash: sessions are re-opened by their CLIs
    }
  }

  /** Calls onExpired for every session whose CLI stopped sending heartbeats. */
  startExpiry(onExpired: (session: DevSession) => void, everyMs = 1000): void {
    this.#timer = setInterval(() => {
      const now = Date.now();
      let changed = false;
      for (const s of this.#sessions.values()) {
        if (Date.parse(s.expiresAt) > now) continue;
        this.#sessions.delete(s.id);
        changed = true;
        onExpired(publicView(s));
      }
      if (changed) void this.#persist();
    }, everyMs);
    this.#timer.unref();
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    return this.#writing;
  }

  holderOf(tenant: string, pluginId: string): DevSession | undefined {
    for (const s of this.#sessions.values())
      if (s.tenant === tenant && s.pluginId === pluginId && Date.parse(s.expiresAt) > Date.now())
        return publicView(s);
    return undefined;
  }

  /** The live sessions of a tenant, oldest first. */
  list(tenant: string): DevSession[] {
    const now = Date.now();
    return [...this.#sessions.values()]
      .filter((s) => s.tenant === tenant && Date.parse(s.expiresAt) > now)
      .map(publicView)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): (DevSession & { userId: string }) | undefined {
    const s = this.#sessions.get(id);
    return s && Date.parse(s.expiresAt) > Date.now() ? { ...publicView(s), userId: s.userId } : undefined;
  }

  /** Opens a session, or refuses naming the holder of the live one. Re-opening your own session id is a heartbeat. */
  async open(tenant: string, pluginId: string, holder: SessionHolder, id?: string): Promise<DevSession> {
    const current = this.holderOf(tenant, pluginId);
    if (current && current.id !== id) throw conflict(current);
    const { ttlMs, maxPerUser } = this.#settings();
    if (!current) {
      const held = [...this.#sessions.values()].filter(
        (s) => s.userId === holder.userId && Date.parse(s.expiresAt) > Date.now(),
      ).length;
      if (held >= maxPerUser) throw new PxError('DEV_SESSION_LIMIT', { count: held, limit: maxPerUser });
    }
    const now = new Date();
    const session: StoredSession = {
      id: id ?? `ds_${randomUUID()}`,
      tenant,
      pluginId,
      user: holder.username,
      userId: holder.userId,
      client: holder.client,
      createdAt: current?.createdAt ?? now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
      ttlMs,
    };
    this.#sessions.set(session.id, session);
    await this.#persist();
    return publicView(session);
  }

  heartbeat(id: string): DevSession {
    const s = this.#sessions.get(id);
    if (!s || Date.parse(s.expiresAt) <= Date.now())
      throw new NotFoundError('DEV_SESSION_NOT_FOUND', { session: id });
    this.#refresh(s);
    return publicView(s);
  }

  /**
   * The session a dev operation on (tenant, plugin) runs under: the caller's own (by id), or —
   * for API callers that send no session id — an implicit one of the caller. Someone else's live
   * session is a conflict that names its holder.
   */
  async claim(
    tenant: string,
    pluginId: string,
    holder: SessionHolder,
    sessionId?: string,
  ): Promise<DevSession> {
    if (sessionId) {
      const s = this.#sessions.get(sessionId);
      if (!s || Date.parse(s.expiresAt) <= Date.now())
        throw new NotFoundError('DEV_SESSION_NOT_FOUND', { session: sessionId });
      if (s.tenant !== tenant || s.pluginId !== pluginId) {
        throw new ConflictError(
          'BAD_REQUEST',
          {
            detail: `Session ${sessionId} is for ${s.pluginId} in ${s.tenant}, not ${pluginId} in ${tenant}`,
          },
          { hint: 'Open a session for this plugin (px-plugin dev does it from plugin.yaml).' },
        );
      }
      this.#refresh(s);
      return publicView(s);
    }
    const current = this.holderOf(tenant, pluginId);
    if (
      current &&
      !(current.client === holder.client && this.#sessions.get(current.id)?.userId === holder.userId)
    )
      throw conflict(current);
    if (current) return this.heartbeat(current.id);
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
    const s = this.holderOf(tenant, pluginId);
    if (s) await this.end(s.id);
  }

  #refresh(s: StoredSession): StoredSession {
    const now = Date.now();
    const { ttlMs } = this.#settings();
    s.lastSeenAt = new Date(now).toISOString();
    s.expiresAt = new Date(now + ttlMs).toISOString();
    s.ttlMs = ttlMs;
    return s;
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

function publicView(s: StoredSession): DevSession {
  return {
    id: s.id,
    tenant: s.tenant,
    pluginId: s.pluginId,
    user: s.user,
    client: s.client,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    ttlMs: s.ttlMs,
  };
}

function conflict(s: DevSession): ConflictError {
  return new ConflictError('DEV_SESSION_CONFLICT', {
    plugin: s.pluginId,
    tenant: s.tenant,
    holder: `${s.user} (${s.client}, since ${s.createdAt}, expires ${s.expiresAt} without heartbeats)`,
  });
}
