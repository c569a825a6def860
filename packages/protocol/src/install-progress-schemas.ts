/**
 * Live install progress: the payload of the bus event `plugin.install.progress` and of the frames
 * of the WebSocket channel `plugin.install.progress` on `/api/ws` (docs/websocket.md). One source
 * for core (publisher and channel), the CLI (`px-plugin install` and friends) and the Admin's
 * install progress. Add, never rename.
 */
import Type, { type Static } from 'typebox';
import { InstallErrorSchema, InstallStageSchema } from './api-schemas.ts';

export const PROGRESS_CHANNEL = 'plugin.install.progress';

/** What the operation is, as a person would say it. */
export const ProgressKindSchema = Type.Union([
  Type.Literal('install'),
  /** An upload of a plugin the tenant already has. */
  Type.Literal('upgrade'),
  /** `px-plugin dev` (a dev install or hot reload). */
  Type.Literal('dev_reload'),
  Type.Literal('reconfigure'),
  /** Back to the last stable version. */
  Type.Literal('rollback'),
  Type.Literal('uninstall'),
]);
export type ProgressKind = Static<typeof ProgressKindSchema>;

/** Where the operation is as a whole; running, failed and uninstalled are final. */
export const ProgressStateSchema = Type.Union([
  Type.Literal('in_progress'),
  /** Parked in awaiting_config until someone submits the missing values. */
  Type.Literal('waiting'),
  Type.Literal('running'),
  Type.Literal('failed'),
  Type.Literal('uninstalled'),
]);
export type ProgressState = Static<typeof ProgressStateSchema>;

export const InstallProgressSchema = Type.Object({
  installId: Type.String({ description: 'for an uninstall: the install that was serving' }),
  tenant: Type.String(),
  pluginId: Type.Optional(Type.String({ description: 'known once the package was read (validating)' })),
  version: Type.Optional(Type.String()),
  kind: ProgressKindSchema,
  /** The stage just entered: received … running, rolling_back, failed; uninstalling, uninstalled. */
  stage: Type.String(),
  state: ProgressStateSchema,
  /** The timeline so far, in the shape of GET /api/installs/:id `stages`. */
  stages: Type.Array(InstallStageSchema),
  /** On failure: code, stage, message and hint (never secrets: the same as the REST install). */
  error: Type.Optional(InstallErrorSchema),
  /** Grows by one per stage change of this install: orders frames and drops repeats. */
  seq: Type.Integer({ minimum: 1 }),
  at: Type.String(),
  /** The core node that recorded the change (cluster mode). */
  node: Type.Optional(Type.String()),
});
export type InstallProgress = Static<typeof InstallProgressSchema>;

export const ProgressSubscribeFrameSchema = Type.Object({
  type: Type.Literal('subscribe'),
  channel: Type.Literal(PROGRESS_CHANNEL),
  tenant: Type.String(),
  /** Only this install (its snapshot is sent even when it already finished). */
  installId: Type.Optional(Type.String()),
});

export const ProgressUnsubscribeFrameSchema = Type.Object({
  type: Type.Literal('unsubscribe'),
  channel: Type.Literal(PROGRESS_CHANNEL),
  tenant: Type.String(),
  installId: Type.Optional(Type.String()),
});

/** The answer to a subscribe: the current state of what the subscription covers; live frames follow. */
export const ProgressSnapshotFrameSchema = Type.Object({
  type: Type.Literal('progress_snapshot'),
  channel: Type.Literal(PROGRESS_CHANNEL),
  tenant: Type.String(),
  installId: Type.Optional(Type.String()),
  /** Installs in flight in the tenant (or the one install asked for, whatever its state). */
  installs: Type.Array(InstallProgressSchema),
});

export const ProgressFrameSchema = Type.Object({
  type: Type.Literal('progress'),
  channel: Type.Literal(PROGRESS_CHANNEL),
  tenant: Type.String(),
  progress: InstallProgressSchema,
});

export const ProgressUnsubscribedFrameSchema = Type.Object({
  type: Type.Literal('progress_unsubscribed'),
  channel: Type.Literal(PROGRESS_CHANNEL),
  tenant: Type.String(),
  installId: Type.Optional(Type.String()),
});
