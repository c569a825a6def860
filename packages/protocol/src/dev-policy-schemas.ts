/**
 * The debugging permission policy (`config/plugins/dev_policy.yaml`): who may dev-install what,
 * where from, and for how long things are kept. One source for core's start-up validation, the
 * effective policy served by `GET /api/plugins/dev/policy`, the CLI and the Admin.
 * Every field of the file is optional; core fills the documented default.
 */
import Type, { type Static } from 'typebox';

/** A tenant id, a prefix ending in `*` ("sandbox-*"), or `*` for every tenant. */
const TenantPattern = Type.String({ pattern: '^(\\*|[a-z0-9][a-z0-9-]{0,62}\\*?)$' });

export const DevPolicyFileSchema = Type.Object(
  {
    devMode: Type.Optional(Type.Boolean({ description: 'dev endpoints on (PX_PLUGIN_DEV_MODE overrides)' })),
    access: Type.Optional(
      Type.Object(
        {
          permission: Type.Optional(
            Type.String({ minLength: 1, maxLength: 64, description: 'user permission needed' }),
          ),
          roles: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
              minItems: 1,
              description: 'tenant member roles that may dev-install',
            }),
          ),
          tenants: Type.Optional(
            Type.Array(TenantPattern, {
              minItems: 1,
              description: 'sandbox tenants dev installs may target',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    roots: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
        description: 'folders path-mode dev installs may read (absolute or ~/…); PX_DEV_ROOTS overrides',
      }),
    ),
    unsignedDevBuilds: Type.Optional(
      Type.Object(
        {
          default: Type.Optional(Type.Boolean()),
          tenants: Type.Optional(
            Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }), Type.Boolean()),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    sessions: Type.Optional(
      Type.Object(
        {
          maxPerUser: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          idleTimeoutSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400 })),
        },
        { additionalProperties: false },
      ),
    ),
    retention: Type.Optional(
      Type.Object(
        {
          logDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
          devAuditDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type DevPolicyFile = Static<typeof DevPolicyFileSchema>;

/** The policy core applies right now: the file, its defaults and the overrides, resolved. */
export const EffectiveDevPolicySchema = Type.Object({
  file: Type.String({ description: 'the policy file core read' }),
  loadedAt: Type.String(),
  devMode: Type.Boolean(),
  access: Type.Object({
    permission: Type.String(),
    roles: Type.Array(Type.String()),
    tenants: Type.Array(Type.String()),
  }),
  roots: Type.Array(Type.String()),
  unsignedDevBuilds: Type.Object({
    default: Type.Boolean(),
    tenants: Type.Record(Type.String(), Type.Boolean()),
  }),
  sessions: Type.Object({ maxPerUser: Type.Integer(), idleTimeoutSeconds: Type.Number() }),
  retention: Type.Object({ logDays: Type.Number(), devAuditDays: Type.Number() }),
  overrides: Type.Array(
    Type.Object({
      field: Type.String({ description: 'e.g. roots' }),
      source: Type.String({ description: 'the environment variable or start option that set it' }),
    }),
    { description: 'fields whose value does not come from the file' },
  ),
  lastReloadError: Type.Optional(
    Type.String({ description: 'the last re-read failed (the policy above stayed in force): why' }),
  ),
});
export type EffectiveDevPolicy = Static<typeof EffectiveDevPolicySchema>;

// --- feature flags: switches in core's configuration, on by default ---

export const FEATURE_FLAGS = {
  'px-plugin-runtime-v2': 'starting plugin processes in the OS-sandbox runtime',
  'plugin-sandbox-mode': 'sandbox tenants, their installs, generated test data and test entry points',
  'plugin-dev-logs': 'the live dev log channel plugin.dev.logs on /api/ws',
} as const;
export type FeatureFlag = keyof typeof FEATURE_FLAGS;
export const FEATURE_FLAG_NAMES = Object.keys(FEATURE_FLAGS) as FeatureFlag[];

export const FeatureFlagStateSchema = Type.Object({
  name: Type.String(),
  enabled: Type.Boolean(),
  gates: Type.String({ description: 'what turning it off stops' }),
});
export type FeatureFlagState = Static<typeof FeatureFlagStateSchema>;
