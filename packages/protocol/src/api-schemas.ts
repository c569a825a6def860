/**
 * REST bodies of core: one TypeBox source for core's route validation, the OpenAPI document,
 * the CLI's API client and the Admin. Add fields, never rename.
 */
import Type, { type Static } from 'typebox';
import { EnvVarSchema, LogLevelSchema, SecretSchema } from './manifest-schema.ts';
import { ProductionParitySchema, ValidationCheckSchema } from './validation-report.ts';

export const ErrorBodySchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  hint: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

// tenant:create: create sandbox tenants (up to maxTenantsPerUser of sandbox_limits.yaml); not part
// of plugin:dev, so every tenant, and the quota it brings, is one an operator agreed to.
export const PERMISSIONS = ['admin', 'plugin:dev', 'audit:read', 'tenant:create'] as const;
// Spelled out so that Static<> infers the literal union (a mapped array infers never).
export const PermissionNameSchema = Type.Union([
  Type.Literal('admin'),
  Type.Literal('plugin:dev'),
  Type.Literal('audit:read'),
  Type.Literal('tenant:create'),
]);

// --- identity ---
export const LoginBodySchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    tokenName: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBodySchema>;

export const TokenResponseSchema = Type.Object({
  token: Type.String(),
  tokenId: Type.String(),
  user: Type.Object({ id: Type.String(), username: Type.String() }),
});
export type TokenResponse = Static<typeof TokenResponseSchema>;

export const CreateTokenBodySchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

export const MeSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  permissions: Type.Array(Type.String()),
  tenants: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), role: Type.String() })),
});
export type Me = Static<typeof MeSchema>;

export const CreateUserBodySchema = Type.Object(
  {
    username: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
    password: Type.String({ minLength: 8, maxLength: 1024 }),
    permissions: Type.Array(PermissionNameSchema, { default: [] }),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBodySchema>;

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  permissions: Type.Array(Type.String()),
});

export const SigningKeyBodySchema = Type.Object(
  {
    publicKeyPem: Type.String({ minLength: 40, maxLength: 4096 }),
    name: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type SigningKeyBody = Static<typeof SigningKeyBodySchema>;

export const SigningKeySchema = Type.Object({
  keyId: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  publicKeyPem: Type.String(),
});
export type SigningKey = Static<typeof SigningKeySchema>;

// --- tenants ---
export const TenantKindSchema = Type.Union([Type.Literal('sandbox'), Type.Literal('production')]);
export const TenantSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: TenantKindSchema,
  allowUnsigned: Type.Boolean(),
  createdAt: Type.String(),
});
export type Tenant = Static<typeof TenantSchema>;

export const CreateTenantBodySchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    kind: TenantKindSchema,
    allowUnsigned: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateTenantBody = Static<typeof CreateTenantBodySchema>;

export const AddMemberBodySchema = Type.Object(
  { username: Type.String(), role: Type.Optional(Type.String({ maxLength: 32 })) },
  { additionalProperties: false },
);

/** A tenant's quotas, as configured in sandbox_limits.yaml. */
export const QuotaLimitsSchema = Type.Object({
  maxPlugins: Type.Number(),
  maxMemoryMb: Type.Number(),
  maxDiskMb: Type.Number(),
  maxCpuPercent: Type.Number(),
  maxPackageMb: Type.Number(),
  installsPerMinute: Type.Number(),
});

export const TenantUsageSchema = Type.Object({
  tenant: Type.String(),
  plugins: Type.Number(),
  memoryMb: Type.Number(),
  diskMb: Type.Number(),
  cpuPercent: Type.Number(),
  installsLastMinute: Type.Number(),
  limits: QuotaLimitsSchema,
  /** The production tenant this one's packages must also fit, and its limits (sandbox tenants only). */
  production: Type.Optional(
    Type.Object({
      tenant: Type.String(),
      limits: QuotaLimitsSchema,
    }),
  ),
});
export type TenantUsage = Static<typeof TenantUsageSchema>;

// --- wizard and install ---
export const ConfigValueSchema = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

/** What a client sends to the wizard: env values (strings are coerced to the declared type), secrets, log level. */
export const InstallConfigSchema = Type.Object(
  {
    env: Type.Optional(Type.Record(Type.String(), ConfigValueSchema)),
    secrets: Type.Optional(Type.Record(Type.String(), Type.String())),
    logLevel: Type.Optional(LogLevelSchema),
  },
  { additionalProperties: false },
);
export type InstallConfig = Static<typeof InstallConfigSchema>;

/** The install wizard: generated from the manifest's config section. */
export const WizardSchema = Type.Object({
  env: Type.Array(EnvVarSchema),
  secrets: Type.Array(SecretSchema),
  logLevel: LogLevelSchema,
});
export type Wizard = Static<typeof WizardSchema>;

export const INSTALL_STAGES = [
  'received',
  'validating',
  'awaiting_config',
  'provisioning',
  'starting',
  'health_check',
  'seeding',
  'running',
] as const;
/** `uninstalled`: the history of a plugin that was uninstalled (it no longer runs anything). */
export const INSTALL_STATES = [...INSTALL_STAGES, 'rolling_back', 'failed', 'uninstalled'] as const;
export type InstallState = (typeof INSTALL_STATES)[number];

export const InstallStageSchema = Type.Object({
  stage: Type.String(),
  outcome: Type.String({ description: 'running | ok | failed | waiting' }),
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Number()),
  code: Type.Optional(Type.String()),
});
export type InstallStage = Static<typeof InstallStageSchema>;

export const InstallErrorSchema = Type.Object({
  code: Type.String(),
  stage: Type.String(),
  message: Type.String(),
  hint: Type.String(),
});
export type InstallError = Static<typeof InstallErrorSchema>;

export const InstallSchema = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'install | reconfigure | rollback' }),
  /** The flow that created it: upload (a .pxp upload, or a rollback / reconfigure of one) or dev (px-plugin dev, install from a local directory). Always set by core. */
  flow: Type.Optional(Type.Union([Type.Literal('upload'), Type.Literal('dev')])),
  tenant: Type.String(),
  pluginId: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  state: Type.String(),
  actor: Type.String(),
  packageSha256: Type.Optional(Type.String()),
  packageBytes: Type.Number(),
  signerKeyId: Type.Optional(Type.String()),
  unsigned: Type.Boolean(),
  config: Type.Optional(
    Type.Object({
      env: Type.Record(Type.String(), ConfigValueSchema),
      secrets: Type.Array(Type.String()),
      logLevel: Type.String(),
    }),
  ),
  checks: Type.Optional(Type.Array(ValidationCheckSchema)),
  wizard: Type.Optional(WizardSchema),
  missingConfig: Type.Optional(Type.Array(Type.String())),
  stages: Type.Array(InstallStageSchema),
  error: Type.Optional(InstallErrorSchema),
  entryUrl: Type.Optional(Type.String()),
  previousInstallId: Type.Optional(Type.String()),
  createdAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Number()),
});
export type Install = Static<typeof InstallSchema>;

export const InstallListSchema = Type.Object({ installs: Type.Array(InstallSchema) });

export const InstalledPluginSchema = Type.Object({
  tenant: Type.String(),
  pluginId: Type.String(),
  name: Type.String(),
  version: Type.String(),
  status: Type.String(),
  activeInstallId: Type.String(),
  lastStableVersion: Type.Optional(Type.String()),
  lastStableInstallId: Type.Optional(Type.String()),
  entryUrl: Type.String(),
  memoryMb: Type.Number(),
  diskMb: Type.Number(),
  /** ctx.storage: bytes stored now (counted as written) and resources.storageMb. */
  storage: Type.Optional(Type.Object({ usedBytes: Type.Number(), limitMb: Type.Number() })),
  installedAt: Type.String(),
  updatedAt: Type.String(),
  /** Set when status is `failed`: why the serving version failed (e.g. CRASH_LOOP, QUOTA_MEMORY) and there was no stable version to restore. */
  failure: Type.Optional(
    Type.Object({
      code: Type.String(),
      stage: Type.String(),
      message: Type.String(),
      hint: Type.String(),
      installId: Type.String(),
    }),
  ),
  instance: Type.Optional(
    Type.Object({
      id: Type.String(),
      state: Type.String(),
      pid: Type.Optional(Type.Number()),
      restarts: Type.Number(),
      isolation: Type.Unknown(),
      usage: Type.Object({
        rssMb: Type.Number(),
        /** What the memory quota (resources.memoryMb) counts: private pages, without the Node binary shared by every instance. */
        privateMb: Type.Optional(Type.Number()),
        cpuPercent: Type.Number(),
        diskMb: Type.Number(),
      }),
    }),
  ),
});
export type InstalledPlugin = Static<typeof InstalledPluginSchema>;

export const ValidateResponseSchema = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Array(ValidationCheckSchema),
  manifest: Type.Optional(Type.Unknown()),
  signer: Type.Optional(Type.Object({ keyId: Type.String(), algorithm: Type.String() })),
  packageSha256: Type.Optional(Type.String()),
  wizard: Type.Optional(WizardSchema),
  durationMs: Type.Number(),
  production: Type.Optional(ProductionParitySchema),
});
export type ValidateResponse = Static<typeof ValidateResponseSchema>;

// --- audit and logs ---
export const AuditEntrySchema = Type.Object({
  seq: Type.Number(),
  ts: Type.String(),
  actor: Type.String(),
  tenant: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  hash: Type.String(),
  prevHash: Type.String(),
});
export type AuditEntry = Static<typeof AuditEntrySchema>;

export const AuditQuerySchema = Type.Object({
  tenant: Type.Optional(Type.String()),
  actor: Type.Optional(Type.String()),
  action: Type.Optional(Type.String({ description: 'exact, or a prefix ending in *' })),
  target: Type.Optional(Type.String()),
  outcome: Type.Optional(Type.String()),
  since: Type.Optional(Type.String()),
  until: Type.Optional(Type.String()),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export type AuditQueryParams = Static<typeof AuditQuerySchema>;

export const AuditPageSchema = Type.Object({
  entries: Type.Array(AuditEntrySchema),
  nextBefore: Type.Optional(Type.Number()),
});
export type AuditPage = Static<typeof AuditPageSchema>;

export const AuditVerifySchema = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Number(),
  headHash: Type.String(),
  firstBadSeq: Type.Optional(Type.Number()),
  reason: Type.Optional(Type.String()),
  /** Entries deleted from the end of the log (detected against the head anchored outside the database), inclusive. */
  missing: Type.Optional(Type.Object({ fromSeq: Type.Number(), toSeq: Type.Number() })),
  /** The anchored head (`<data dir>/audit-head.json`); null when there is none. */
  anchor: Type.Optional(
    Type.Union([Type.Object({ seq: Type.Number(), hash: Type.String(), ts: Type.String() }), Type.Null()]),
  ),
  /** Truncations core noticed when it loaded the head; they stay reported. */
  truncations: Type.Optional(
    Type.Array(
      Type.Object({
        fromSeq: Type.Number(),
        toSeq: Type.Number(),
        lostHeadHash: Type.String(),
        detectedAt: Type.String(),
        reason: Type.String(),
      }),
    ),
  ),
});
export type AuditVerify = Static<typeof AuditVerifySchema>;

export const LogLineSchema = Type.Object({
  id: Type.Number(),
  ts: Type.String(),
  tenant: Type.String(),
  plugin: Type.String(),
  version: Type.String(),
  instance: Type.String(),
  level: Type.String(),
  msg: Type.String(),
  fields: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  source: Type.String(),
});
export type LogLine = Static<typeof LogLineSchema>;

export const LogQuerySchema = Type.Object({
  after: Type.Optional(
    Type.Integer({ minimum: 0, description: 'only lines with id > after (for following)' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
  level: Type.Optional(LogLevelSchema),
});

export const LogPageSchema = Type.Object({ lines: Type.Array(LogLineSchema), lastId: Type.Number() });
export type LogPage = Static<typeof LogPageSchema>;
