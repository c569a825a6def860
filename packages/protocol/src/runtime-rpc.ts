import Type, { type Static, type TSchema } from 'typebox';
import { LogLevelSchema } from './manifest-schema.ts';

/**
 * Every message on the IPC channel between the runtime supervisor (trusted, inside core) and the
 * runner (the sandbox entry, sharing a process with untrusted plugin code). The supervisor
 * validates EVERY message it receives against `RunnerToSupervisorSchema` after checking its size
 * against `RPC_MAX_MESSAGE_BYTES`; nothing a plugin sends is trusted, least of all a tenant id
 * (there is none in these messages: the supervisor scopes every call to the instance it owns).
 *
 * Socket hand-off uses Node's own handle passing: the supervisor sends the string message
 * `'conn'` (see `ConnMessageSchema`) with the accepted socket as the handle.
 */

/** Upper bound of one serialized message, either direction. */
export const RPC_MAX_MESSAGE_BYTES = 1024 * 1024;

const Fields = Type.Record(Type.String(), Type.Unknown());
const Id = Type.Integer({ minimum: 0 });
const Collection = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$' });
const DocId = Type.String({ minLength: 1, maxLength: 256 });
const EventType = Type.String({ minLength: 1, maxLength: 200 });

export const RpcErrorBodySchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  hint: Type.String(),
});
export type RpcErrorBody = Static<typeof RpcErrorBodySchema>;

// ---------------------------------------------------------------- supervisor → runner

export const InitMessageSchema = Type.Object(
  {
    t: Type.Literal('init'),
    instanceId: Type.String(),
    tenant: Type.String(),
    pluginId: Type.String(),
    version: Type.String(),
    /** Absolute path of the plugin's entry module (inside the read-only version folder). */
    entry: Type.String(),
    /** Absolute path of the manifest's `sandbox.seed` module, when it has one. */
    seedModule: Type.Optional(Type.String()),
    dataDir: Type.String(),
    config: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    /** Declared secrets only. Sent once here, never through the environment. */
    secrets: Type.Record(Type.String(), Type.String()),
    declaredSecrets: Type.Array(Type.String()),
    logLevel: LogLevelSchema,
    maxMessageBytes: Type.Integer(),
  },
  { additionalProperties: false },
);

export const ConnMessageSchema = Type.Literal('conn');

export const RpcResultSchema = Type.Union([
  Type.Object(
    { t: Type.Literal('rpc.result'), id: Id, ok: Type.Literal(true), value: Type.Unknown() },
    { additionalProperties: false },
  ),
  Type.Object(
    { t: Type.Literal('rpc.result'), id: Id, ok: Type.Literal(false), error: RpcErrorBodySchema },
    { additionalProperties: false },
  ),
]);

export const EventDeliverySchema = Type.Object(
  {
    t: Type.Literal('event'),
    type: EventType,
    payload: Type.Unknown(),
    meta: Type.Object({ type: Type.String(), ts: Type.String() }),
  },
  { additionalProperties: false },
);

export const SeedRequestSchema = Type.Object(
  { t: Type.Literal('seed'), id: Id },
  { additionalProperties: false },
);

export const SupervisorToRunnerSchema = Type.Union([
  InitMessageSchema,
  ConnMessageSchema,
  ...RpcResultSchema.anyOf,
  EventDeliverySchema,
  SeedRequestSchema,
]);
export type SupervisorToRunner = Static<typeof SupervisorToRunnerSchema>;
export type InitMessage = Static<typeof InitMessageSchema>;
export type RpcResult = Static<typeof RpcResultSchema>;

// ---------------------------------------------------------------- runner → supervisor

/** The runner imported the plugin, ran `onStart` and accepts connections. */
export const ReadyMessageSchema = Type.Object({ t: Type.Literal('ready') }, { additionalProperties: false });

/** The runner could not start the plugin (import failed, onStart threw). */
export const FatalMessageSchema = Type.Object(
  {
    t: Type.Literal('fatal'),
    message: Type.String({ maxLength: 8192 }),
    stack: Type.Optional(Type.String({ maxLength: 16384 })),
  },
  { additionalProperties: false },
);

/** One `ctx.log` line. */
export const LogMessageSchema = Type.Object(
  {
    t: Type.Literal('log'),
    level: LogLevelSchema,
    msg: Type.String({ maxLength: 65_536 }),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);

export const SeedDoneSchema = Type.Union([
  Type.Object(
    { t: Type.Literal('seed.done'), id: Id, ok: Type.Literal(true) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      t: Type.Literal('seed.done'),
      id: Id,
      ok: Type.Literal(false),
      message: Type.String({ maxLength: 8192 }),
    },
    { additionalProperties: false },
  ),
]);

const call = <M extends string, A extends TSchema>(method: M, args: A) =>
  Type.Object(
    { t: Type.Literal('rpc'), id: Id, method: Type.Literal(method), args },
    { additionalProperties: false },
  );

/** The calls a plugin may make. Permissions are checked by the supervisor per method. */
export const RpcCallSchema = Type.Union([
  call(
    'storage.insert',
    Type.Object({ collection: Collection, doc: Fields }, { additionalProperties: false }),
  ),
  call('storage.get', Type.Object({ collection: Collection, id: DocId }, { additionalProperties: false })),
  call(
    'storage.find',
    Type.Object(
      {
        collection: Collection,
        where: Type.Optional(Fields),
        limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
        offset: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
  ),
  call(
    'storage.update',
    Type.Object({ collection: Collection, id: DocId, patch: Fields }, { additionalProperties: false }),
  ),
  call('storage.delete', Type.Object({ collection: Collection, id: DocId }, { additionalProperties: false })),
  call(
    'storage.count',
    Type.Object({ collection: Collection, where: Type.Optional(Fields) }, { additionalProperties: false }),
  ),
  call(
    'events.publish',
    Type.Object({ type: EventType, payload: Type.Unknown() }, { additionalProperties: false }),
  ),
  call('events.subscribe', Type.Object({ type: EventType }, { additionalProperties: false })),
  call(
    'http.fetch',
    Type.Object(
      {
        url: Type.String({ maxLength: 8192 }),
        init: Type.Object(
          {
            method: Type.Optional(Type.String({ pattern: '^[A-Z]{1,16}$' })),
            headers: Type.Optional(Type.Record(Type.String(), Type.String())),
            body: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  ),
  /** A secret by name; the SDK serves declared secrets from init, this is for rotation-safe reads. */
  call(
    'secrets.get',
    Type.Object({ name: Type.String({ maxLength: 128 }) }, { additionalProperties: false }),
  ),
]);
export type RpcCall = Static<typeof RpcCallSchema>;
export type RpcMethod = RpcCall['method'];

export const RunnerToSupervisorSchema = Type.Union([
  ReadyMessageSchema,
  FatalMessageSchema,
  LogMessageSchema,
  ...SeedDoneSchema.anyOf,
  ...RpcCallSchema.anyOf,
]);
export type RunnerToSupervisor = Static<typeof RunnerToSupervisorSchema>;
