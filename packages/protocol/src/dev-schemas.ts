/**
 * Dev mode: the REST bodies of `/api/plugins/dev/*` and the frames of the WebSocket
 * channel `plugin.dev.logs` on `/api/ws`. One source for core's route validation, OpenAPI, the
 * CLI (`px-plugin dev`, `px-plugin logs -f`) and the Admin's live log panel. Add, never rename.
 */
import Type, { type Static } from 'typebox';
import { LogLineSchema } from './api-schemas.ts';
import {
  ProgressFrameSchema,
  ProgressSnapshotFrameSchema,
  ProgressSubscribeFrameSchema,
  ProgressUnsubscribeFrameSchema,
  ProgressUnsubscribedFrameSchema,
} from './install-progress-schemas.ts';

// --- sessions: one per (tenant, plugin), kept alive by heartbeats of its CLI ---

export const DevSessionOpenBodySchema = Type.Object(
  {
    tenant: Type.String({ minLength: 1 }),
    pluginId: Type.String({ minLength: 1 }),
    client: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'who holds it, shown to a second developer, e.g. "px-plugin dev on laptop (pid 4242)"',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DevSessionOpenBody = Static<typeof DevSessionOpenBodySchema>;

export const DevSessionSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  pluginId: Type.String(),
  user: Type.String(),
  client: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  /** Without a heartbeat for this long the session expires and frees the plugin. */
  ttlMs: Type.Number(),
});
export type DevSession = Static<typeof DevSessionSchema>;

export const DevSessionEndQuerySchema = Type.Object({
  keep: Type.Optional(Type.Boolean({ description: 'leave the plugin installed (px-plugin dev --keep)' })),
  removeData: Type.Optional(Type.Boolean({ description: 'also delete the plugin storage' })),
});

// --- dev install / reload ---

export const DevInstallBodySchema = Type.Object(
  {
    tenant: Type.String({ minLength: 1 }),
    path: Type.String({
      minLength: 1,
      description:
        'plugin project (plugin.yaml + dist/) or build output (manifest.json + dist/) on a filesystem core can read',
    }),
    sessionId: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type DevInstallBody = Static<typeof DevInstallBodySchema>;

export const DevUninstallBodySchema = Type.Object(
  {
    tenant: Type.String({ minLength: 1 }),
    pluginId: Type.String({ minLength: 1 }),
    sessionId: Type.Optional(Type.String()),
    removeData: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DevUninstallBody = Static<typeof DevUninstallBodySchema>;

export const DevReloadTimingsSchema = Type.Object({
  /** Copy of the build into core (path mode) or receiving it (upload). */
  pushMs: Type.Number(),
  /** Shared validator on the packed copy. */
  validateMs: Type.Number(),
  /** Process start until the runner is ready. */
  startMs: Type.Number(),
  /** Health gate. */
  healthMs: Type.Number(),
  /** Switch of the entry point (and, when the plugin has one, the seed hook). */
  switchMs: Type.Number(),
  totalMs: Type.Number(),
});
export type DevReloadTimings = Static<typeof DevReloadTimingsSchema>;

export const DevReloadSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  pluginId: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  /** running | failed (never switched) | rolled_back (crashed in the grace window) | superseded (a newer save replaced it) | unchanged */
  result: Type.Union([
    Type.Literal('running'),
    Type.Literal('failed'),
    Type.Literal('rolled_back'),
    Type.Literal('superseded'),
    Type.Literal('unchanged'),
  ]),
  installId: Type.Optional(Type.String()),
  /** SHA-256 of the packed build: the content address of this version. */
  contentSha256: Type.Optional(Type.String()),
  /** What serves after this reload (the new version, or the last stable one after a failure). */
  serving: Type.Optional(Type.Object({ version: Type.String(), installId: Type.String() })),
  timings: DevReloadTimingsSchema,
  error: Type.Optional(
    Type.Object({
      code: Type.String(),
      message: Type.String(),
      hint: Type.String(),
      stage: Type.Optional(Type.String()),
    }),
  ),
  entryUrl: Type.Optional(Type.String()),
  at: Type.String(),
});
export type DevReload = Static<typeof DevReloadSchema>;

// --- GET /api/plugins/dev/sessions?tenant=: active sessions and their reload history ---

export const DevSessionsQuerySchema = Type.Object({ tenant: Type.String({ minLength: 1 }) });
export type DevSessionsQuery = Static<typeof DevSessionsQuerySchema>;

/** One reload as core recorded it (dev/dev-reload-history.ts); newest first in lists. */
export const DevReloadEntrySchema = Type.Object({
  /** The reload id (`dr_…`), as in DevReload.id and the plugin.dev.* events. */
  id: Type.String(),
  at: Type.String(),
  version: Type.Optional(Type.String()),
  installId: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Number()),
  /** running (switched, serving) | failed (never switched) | rolled_back (crashed after the switch, last stable back) | build_failed (local build, nothing pushed) */
  result: Type.Union([
    Type.Literal('running'),
    Type.Literal('failed'),
    Type.Literal('rolled_back'),
    Type.Literal('build_failed'),
  ]),
  /** Why it did not stay: code, stage, message and hint (absent for a reload that serves). */
  rollback: Type.Optional(
    Type.Object({
      code: Type.String(),
      stage: Type.Optional(Type.String()),
      message: Type.String(),
      hint: Type.String(),
      /** What serves after it (the last stable version), if anything. */
      serving: Type.Optional(Type.Object({ version: Type.String(), installId: Type.String() })),
      restored: Type.Boolean(),
    }),
  ),
});
export type DevReloadEntry = Static<typeof DevReloadEntrySchema>;

export const DevSessionWithReloadsSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  pluginId: Type.String(),
  /** The holder: user and client (e.g. "px-plugin dev on laptop (pid 4242)"). */
  user: Type.String(),
  client: Type.String(),
  startedAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  reloads: Type.Array(DevReloadEntrySchema),
});
export type DevSessionWithReloads = Static<typeof DevSessionWithReloadsSchema>;

export const DevSessionsListSchema = Type.Object({
  tenant: Type.String(),
  /** Active sessions (heartbeats still coming), each with the reload history of its plugin. */
  sessions: Type.Array(DevSessionWithReloadsSchema),
  /** Reload history of the tenant's plugins that have no active session any more (ended or expired). */
  recent: Type.Array(Type.Object({ pluginId: Type.String(), reloads: Type.Array(DevReloadEntrySchema) })),
});
export type DevSessionsList = Static<typeof DevSessionsListSchema>;

// --- WebSocket /api/ws: channel plugin.dev.logs (and plugin.install.progress, see install-progress-schemas.ts) ---

/** Log levels spelled out, so the frame types carry the union (a mapped Type.Union loses it). */
const LevelSchema = Type.Union([
  Type.Literal('trace'),
  Type.Literal('debug'),
  Type.Literal('info'),
  Type.Literal('warn'),
  Type.Literal('error'),
  Type.Literal('fatal'),
]);

export const LOG_CHANNEL = 'plugin.dev.logs';

export const WsClientFrameSchema = Type.Union([
  Type.Object({ type: Type.Literal('auth'), token: Type.String() }),
  Type.Object({
    type: Type.Literal('subscribe'),
    channel: Type.Literal(LOG_CHANNEL),
    tenant: Type.String(),
    plugin: Type.String(),
    /** Resume after this line id (reconnects) … */
    afterId: Type.Optional(Type.Integer({ minimum: 0 })),
    /** … or start with the last N lines (default 100, at most 1000). */
    backfill: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    level: Type.Optional(LevelSchema),
  }),
  Type.Object({
    type: Type.Literal('unsubscribe'),
    channel: Type.Literal(LOG_CHANNEL),
    tenant: Type.String(),
    plugin: Type.String(),
  }),
  ProgressSubscribeFrameSchema,
  ProgressUnsubscribeFrameSchema,
  Type.Object({ type: Type.Literal('ping') }),
]);
export type WsClientFrame = Static<typeof WsClientFrameSchema>;

export const ReloadMarkerSchema = Type.Object({
  at: Type.String(),
  version: Type.Optional(Type.String()),
  result: Type.String(),
  durationMs: Type.Optional(Type.Number()),
  reason: Type.Optional(Type.String()),
});
export type ReloadMarker = Static<typeof ReloadMarkerSchema>;

export const WsServerFrameSchema = Type.Union([
  Type.Object({
    type: Type.Literal('subscribed'),
    channel: Type.String(),
    tenant: Type.String(),
    plugin: Type.String(),
    lastId: Type.Number(),
    /**
     * Set when core dropped this user's previous connection to the same topic as a slow consumer
     * (the `dropped` frame may never have reached it, queued behind the unread backlog): when, why,
     * and the id of the last line core had sent on it. Resuming with afterId = missedAfterId fills the gap.
     */
    dropped: Type.Optional(
      Type.Object({ at: Type.String(), reason: Type.String(), missedAfterId: Type.Number() }),
    ),
  }),
  Type.Object({
    type: Type.Literal('unsubscribed'),
    channel: Type.String(),
    tenant: Type.String(),
    plugin: Type.String(),
  }),
  Type.Object({
    type: Type.Literal('log'),
    channel: Type.String(),
    tenant: Type.String(),
    plugin: Type.String(),
    lines: Type.Array(LogLineSchema),
    backfill: Type.Optional(Type.Boolean()),
  }),
  Type.Object({
    type: Type.Literal('reload'),
    channel: Type.String(),
    tenant: Type.String(),
    plugin: Type.String(),
    reload: ReloadMarkerSchema,
  }),
  Type.Object({ type: Type.Literal('heartbeat'), ts: Type.String() }),
  /** The client read too slowly: core drops it (closes with 4008) rather than buffer without bound. */
  Type.Object({ type: Type.Literal('dropped'), reason: Type.String(), queued: Type.Optional(Type.Number()) }),
  Type.Object({
    type: Type.Literal('error'),
    code: Type.String(),
    message: Type.String(),
    hint: Type.Optional(Type.String()),
  }),
  // channel plugin.install.progress (install-progress-schemas.ts)
  ProgressSnapshotFrameSchema,
  ProgressFrameSchema,
  ProgressUnsubscribedFrameSchema,
]);
export type WsServerFrame = Static<typeof WsServerFrameSchema>;
