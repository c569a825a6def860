import Type, { type Static } from 'typebox';

/**
 * The plugin manifest: the one schema that validates `plugin.yaml` / `manifest.json`, types the
 * code, feeds the OpenAPI document and generates the install wizard. Optional fields get their
 * defaults from `normalizeManifest`, so the `manifest.json` inside a `.pxp` is always complete.
 */

export const PLUGIN_ID_PATTERN = '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*){2,}$';
export const ENV_NAME_PATTERN = '^[A-Z][A-Z0-9_]*$';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

// Spelled out (not mapped from LOG_LEVELS) so that Static<> infers the literal union.
export const LogLevelSchema = Type.Union([
  Type.Literal('trace'),
  Type.Literal('debug'),
  Type.Literal('info'),
  Type.Literal('warn'),
  Type.Literal('error'),
  Type.Literal('fatal'),
]);
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `storage`, `events:publish`, `events:subscribe`, `http:<host>` (outbound fetch to one host). */
export const PermissionSchema = Type.String({
  pattern: '^(storage|events:publish|events:subscribe|http:[a-z0-9.-]+(:[0-9]+)?)$',
  description: 'storage | events:publish | events:subscribe | http:<host[:port]>',
});

export const HealthSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', default: '/healthz' }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 3000 }),
  },
  { additionalProperties: false },
);

export const RuntimeSchema = Type.Object(
  {
    kind: Type.String({
      description: '"node" (bundled ESM run by the runner) or "process" (any executable serving HTTP)',
    }),
    entry: Type.String({ minLength: 1 }),
    args: Type.Optional(Type.Array(Type.String())),
    health: Type.Optional(HealthSchema),
  },
  { additionalProperties: false },
);

export const EnvVarSchema = Type.Object(
  {
    name: Type.String({ pattern: ENV_NAME_PATTERN }),
    type: Type.Optional(
      Type.Union([
        Type.Literal('string'),
        Type.Literal('number'),
        Type.Literal('boolean'),
        Type.Literal('enum'),
      ]),
    ),
    enum: Type.Optional(Type.Array(Type.String())),
    required: Type.Optional(Type.Boolean()),
    default: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const SecretSchema = Type.Object(
  {
    name: Type.String({ pattern: ENV_NAME_PATTERN }),
    required: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const TestDataSchema = Type.Object(
  {
    collection: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$' }),
    count: Type.Integer({ minimum: 0, maximum: 10_000 }),
    schema: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of one record' }),
  },
  { additionalProperties: false },
);

export const AdminMenuSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    title: Type.String({ minLength: 1 }),
    route: Type.String({ pattern: '^/' }),
  },
  { additionalProperties: false },
);

export const ManifestSchema = Type.Object(
  {
    id: Type.String({ minLength: 3, maxLength: 128 }),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    version: Type.String({ minLength: 1, maxLength: 64 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    powerx: Type.String({ minLength: 1, description: 'semver range of core versions this plugin runs on' }),
    runtime: RuntimeSchema,
    requires: Type.Optional(Type.Record(Type.String(), Type.String())),
    conflicts: Type.Optional(Type.Record(Type.String(), Type.String())),
    permissions: Type.Optional(Type.Array(PermissionSchema)),
    events: Type.Optional(
      Type.Object(
        {
          publish: Type.Optional(Type.Array(Type.String())),
          subscribe: Type.Optional(Type.Array(Type.String())),
        },
        { additionalProperties: false },
      ),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          memoryMb: Type.Optional(Type.Integer({ minimum: 16, maximum: 8192 })),
          cpuPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          diskMb: Type.Optional(Type.Integer({ minimum: 1, maximum: 102_400 })),
          // ctx.storage documents, counted as written; the tenant maximum is maxStorageMb.
          storageMb: Type.Optional(Type.Integer({ minimum: 1, maximum: 102_400 })),
        },
        { additionalProperties: false },
      ),
    ),
    config: Type.Optional(
      Type.Object(
        {
          env: Type.Optional(Type.Array(EnvVarSchema)),
          secrets: Type.Optional(Type.Array(SecretSchema)),
          logLevel: Type.Optional(LogLevelSchema),
        },
        { additionalProperties: false },
      ),
    ),
    sandbox: Type.Optional(
      Type.Object(
        { testData: Type.Optional(Type.Array(TestDataSchema)), seed: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
    ),
    admin: Type.Optional(
      Type.Object(
        { staticDir: Type.Optional(Type.String()), menus: Type.Optional(Type.Array(AdminMenuSchema)) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** What a developer writes: optional sections may be left out. */
export type ManifestSource = Static<typeof ManifestSchema>;
export type EnvVarSpec = Static<typeof EnvVarSchema>;
export type SecretSpec = Static<typeof SecretSchema>;
export type TestDataSpec = Static<typeof TestDataSchema>;
export type AdminMenu = Static<typeof AdminMenuSchema>;

/** The canonical manifest (inside a `.pxp`, and everywhere in code): every default filled in. */
export interface Manifest extends Omit<
  ManifestSource,
  | 'runtime'
  | 'requires'
  | 'conflicts'
  | 'permissions'
  | 'events'
  | 'resources'
  | 'config'
  | 'sandbox'
  | 'description'
> {
  description: string;
  runtime: {
    kind: 'node' | 'process';
    entry: string;
    args: string[];
    health: { path: string; timeoutMs: number };
  };
  requires: Record<string, string>;
  conflicts: Record<string, string>;
  permissions: string[];
  events: { publish: string[]; subscribe: string[] };
  resources: { memoryMb: number; cpuPercent: number; diskMb: number; storageMb: number };
  config: {
    env: Array<EnvVarSpec & { type: 'string' | 'number' | 'boolean' | 'enum'; required: boolean }>;
    secrets: Array<SecretSpec & { required: boolean }>;
    logLevel: LogLevel;
  };
  sandbox: { testData: TestDataSpec[]; seed?: string };
}

export const RUNTIME_KINDS = ['node', 'process'] as const;
export const DEFAULT_RESOURCES = { memoryMb: 128, cpuPercent: 50, diskMb: 64, storageMb: 64 } as const;
export const DEFAULT_HEALTH = { path: '/healthz', timeoutMs: 3000 } as const;

/**
 * Fills every default. Call only on a value that passed `ManifestSchema`; the runtime kind is
 * checked separately so that an unknown kind gets its own error code instead of a schema error.
 */
export function normalizeManifest(source: ManifestSource): Manifest {
  const {
    description,
    runtime,
    requires,
    conflicts,
    permissions,
    events,
    resources,
    config,
    sandbox,
    ...rest
  } = source;
  return {
    ...rest,
    description: description ?? '',
    runtime: {
      kind: runtime.kind as 'node' | 'process',
      entry: runtime.entry.replace(/^\.\//, ''),
      args: runtime.args ?? [],
      health: { ...DEFAULT_HEALTH, ...runtime.health },
    },
    requires: requires ?? {},
    conflicts: conflicts ?? {},
    permissions: [...new Set(permissions ?? [])],
    events: { publish: events?.publish ?? [], subscribe: events?.subscribe ?? [] },
    resources: { ...DEFAULT_RESOURCES, ...resources },
    config: {
      env: (config?.env ?? []).map((v) => ({
        ...v,
        type: v.type ?? 'string',
        required: v.required ?? false,
      })),
      secrets: (config?.secrets ?? []).map((s) => ({ ...s, required: s.required ?? false })),
      logLevel: config?.logLevel ?? 'info',
    },
    sandbox: {
      testData: sandbox?.testData ?? [],
      ...(sandbox?.seed ? { seed: sandbox.seed.replace(/^\.\//, '') } : {}),
    },
  };
}
