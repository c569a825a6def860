/**
 * Where dev sessions live. A session: at most one per (tenant, plugin), owned by whoever opened
 * it (a `px-plugin dev` process, identified by the session id it holds), alive as long as its
 * heartbeats come; without them it expires after the dev policy's idle timeout and frees the
 * plugin for someone else. Two stores keep them:
 * - dev-sessions.ts (the embedded default): in memory, saved to <dataDir>/dev-sessions.json;
 * - cluster/kv-dev-sessions.ts (cluster mode): a NATS KV bucket shared by every node, so a
 *   session opened through one node is heartbeated, claimed and ended through any other and
 *   outlives the node it was opened through.
 * Both answer the same contract; dev-service.ts sees only this interface.
 */
import { ConflictError, type DevSession } from '@powerx/protocol';

export interface SessionHolder {
  userId: string;
  username: string;
  client: string;
}

export interface StoredSession extends DevSession {
  userId: string;
}

/** From the dev policy, read at each use so a re-read policy applies without a restart. */
export interface SessionSettings {
  ttlMs: number;
  maxPerUser: number;
}

export interface DevSessionStore {
  /** The idle timeout in force now (the policy's). */
  readonly ttlMs: number;
  load(): Promise<void>;
  /** Calls onExpired for every session whose CLI stopped sending heartbeats — once, cluster-wide. */
  startExpiry(onExpired: (session: DevSession) => void, everyMs?: number): void;
  stop(): Promise<void>;
  /** The live session of (tenant, plugin), if any. */
  holderOf(tenant: string, pluginId: string): Promise<DevSession | undefined>;
  /** The live sessions of a tenant, oldest first. */
  list(tenant: string): Promise<DevSession[]>;
  get(id: string): Promise<(DevSession & { userId: string }) | undefined>;
  /** Opens a session, or refuses naming the holder of the live one; re-opening one's own is a heartbeat. */
  open(tenant: string, pluginId: string, holder: SessionHolder, id?: string): Promise<DevSession>;
  /** Keeps a live session alive; DEV_SESSION_NOT_FOUND when it is gone or expired. */
  heartbeat(id: string): Promise<DevSession>;
  /**
   * The session a dev operation on (tenant, plugin) runs under: the caller's own (by id), or —
   * for API callers that send no session id — an implicit one of the caller. Someone else's live
   * session is a conflict that names its holder.
   */
  claim(tenant: string, pluginId: string, holder: SessionHolder, sessionId?: string): Promise<DevSession>;
  end(id: string): Promise<DevSession | undefined>;
  endFor(tenant: string, pluginId: string): Promise<void>;
}

export function isLive(s: Pick<DevSession, 'expiresAt'>, now: number): boolean {
  return Date.parse(s.expiresAt) > now;
}

export function publicView(s: StoredSession): DevSession {
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

/** The session a new open creates (or, given `current`, the refreshed one it keeps). */
export function newSession(
  input: { id: string; tenant: string; pluginId: string; holder: SessionHolder; createdAt?: string },
  now: number,
  ttlMs: number,
): StoredSession {
  return {
    id: input.id,
    tenant: input.tenant,
    pluginId: input.pluginId,
    user: input.holder.username,
    userId: input.holder.userId,
    client: input.holder.client,
    createdAt: input.createdAt ?? new Date(now).toISOString(),
    lastSeenAt: new Date(now).toISOString(),
    expiresAt: new Date(now + ttlMs).toISOString(),
    ttlMs,
  };
}

/** A heartbeat: last seen now, expiring one idle timeout (the policy's now) from now. */
export function refreshed(s: StoredSession, now: number, ttlMs: number): StoredSession {
  return {
    ...s,
    lastSeenAt: new Date(now).toISOString(),
    expiresAt: new Date(now + ttlMs).toISOString(),
    ttlMs,
  };
}

export function sessionConflict(s: DevSession): ConflictError {
  return new ConflictError('DEV_SESSION_CONFLICT', {
    plugin: s.pluginId,
    tenant: s.tenant,
    holder: `${s.user} (${s.client}, since ${s.createdAt}, expires ${s.expiresAt} without heartbeats)`,
  });
}

/** A session id sent for another plugin than the operation's. */
export function wrongPlugin(
  sessionId: string,
  s: DevSession,
  tenant: string,
  pluginId: string,
): ConflictError {
  return new ConflictError(
    'BAD_REQUEST',
    { detail: `Session ${sessionId} is for ${s.pluginId} in ${s.tenant}, not ${pluginId} in ${tenant}` },
    { hint: 'Open a session for this plugin (px-plugin dev does it from plugin.yaml).' },
  );
}

/** `settings` may be a fixed ttl (tests) or the policy reader. */
export function settingsReader(settings: number | (() => SessionSettings)): () => SessionSettings {
  return typeof settings === 'number' ? () => ({ ttlMs: settings, maxPerUser: Infinity }) : settings;
}
