/**
 * Core's configuration: every PX_* setting core reads, with its one default, read and checked
 * once when core starts (before any side effect), then frozen and passed down. Nothing else in
 * core reads process.env. A startCore option wins over its variable; both are checked the same
 * way. See README.md in this folder for the list and for how to add a setting.
 */
import { auditKeySetting, type AuditKeySetting } from './audit-key.ts';
import { readClusterEnv, type ClusterEnv, type ClusterEnvInput } from './cluster-env.ts';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkDataDir,
  coreConfigError,
  flagSetting,
  intSetting,
  oneOfSetting,
  parseMasterKey,
  positiveSetting,
  textSetting,
} from './settings.ts';
import type { DevPolicyOverrides } from './dev-policy.ts';
import { parseFeatureFlagsEnv, type FeatureFlagSettings } from './feature-flags.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** pino's levels (plus "silent"), the values PX_LOG_LEVEL accepts. */
export const CORE_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type CoreLogLevel = (typeof CORE_LOG_LEVELS)[number];

export interface CoreConfig {
  /** PX_DATA_DIR, default ./.px-data (resolved). */
  readonly dataDir: string;
  /** PX_PORT, default 8077; 0 picks a free port. */
  readonly port: number;
  /** PX_HOST, default 127.0.0.1 (0.0.0.0 when other cluster nodes forward to this one). */
  readonly host: string;
  /** PX_LOG_LEVEL, default info. */
  readonly logLevel: CoreLogLevel;
  /** PX_MASTER_KEY (32 bytes, hex or base64); unset: <dataDir>/master.key, created on first start. */
  readonly masterKey: Buffer | undefined;
  /** PX_AUDIT_KEY / PX_AUDIT_KEY_FILE: where the audit key comes from (audit-key.ts); read at start. */
  readonly auditKey: AuditKeySetting;
  /** PX_ADMIN_PASSWORD: the initial admin password (first start only); unset: generated. */
  readonly adminPassword: string | undefined;
  /** PX_LIMITS_FILE, default config/plugins/sandbox_limits.yaml of the repository. */
  readonly limitsFile: string;
  /**
   * PX_PLATFORM_KEYS_DIR: folder of platform public keys (*.pem). Default config/keys of the
   * repository, skipped when missing; a folder given explicitly must be readable. false: none.
   */
  readonly platformKeysDir: { readonly path: string; readonly explicit: boolean } | false;
  /** PX_AWAITING_CONFIG_TTL_HOURS: installs waiting for wizard values longer are cancelled. Default 24. */
  readonly awaitingConfigTtlHours: number;
  /** PX_PROCESS_METRICS: process and event-loop metrics (px_core_*). Default on. */
  readonly processMetrics: boolean;
  /** PX_ADMIN_DIST: the built Admin served at /admin. Default packages/admin/dist. */
  readonly adminDist: string;
  /**
   * The dev policy: PX_DEV_POLICY_FILE (default config/plugins/dev_policy.yaml) holds dev mode,
   * dev roots, session limits and retention with their defaults; the startCore options and the
   * variables PX_PLUGIN_DEV_MODE, PX_DEV_ROOTS (":"-separated), PX_DEV_SESSION_TTL_MS and
   * PX_RETENTION_DAYS override single fields of it (config/dev-policy.ts).
   */
  readonly devPolicy: { readonly file: string; readonly overrides: DevPolicyOverrides };
  /** PX_FEATURE_FLAGS ("plugin-dev-logs=off,…") with the flags option winning flag by flag; every flag on by default. */
  readonly featureFlags: FeatureFlagSettings;
  readonly sandbox: {
    /** PX_SANDBOX_UID / PX_SANDBOX_GID: host ids plugins run as when core is root. Default 59500 (gid: the uid). */
    readonly uid: number;
    readonly gid: number;
    /** PX_ALLOW_WEAK_ISOLATION=1: start plugins without bubblewrap, shown as WEAK everywhere. Default off. */
    readonly allowWeakIsolation: boolean;
  };
  readonly dev: {
    /** PX_DEV_GRACE_MS: crash watch after a dev switch. Default 3000. */
    readonly graceMs: number;
  };
  /**
   * The scaled deployment (cluster-env.ts): PX_DATABASE_URL, PX_DATABASE_SCHEMA, PX_NATS_URL,
   * PX_NATS_PREFIX, PX_NODE_ID, PX_ADVERTISE_URL, PX_LEASE_TTL_MS, PX_RECONCILE_MS, PX_DRAIN_MS.
   */
  readonly cluster: ClusterEnv;
  readonly ws: {
    /** PX_WS_HEARTBEAT_MS: WebSocket heartbeat interval. Default 15000. */
    readonly heartbeatMs: number;
    /** PX_WS_MAX_BUFFERED_BYTES: a client that lets more pile up is dropped. Default 1048576. */
    readonly maxBufferedBytes: number;
  };
}

/** What startCore's options may set instead of the environment. */
export interface CoreConfigOptions extends ClusterEnvInput {
  dataDir?: string;
  port?: number;
  host?: string;
  logLevel?: string;
  /** Overrides the dev policy file's devMode and PX_PLUGIN_DEV_MODE. */
  devMode?: boolean;
  devPolicyFile?: string;
  flags?: FeatureFlagSettings;
  masterKey?: string;
  /** The audit key itself, or the file holding it (never inside the data folder). */
  auditKey?: string;
  auditKeyFile?: string;
  adminPassword?: string;
  limitsFile?: string;
  platformKeysDir?: string | false;
  retentionDays?: number;
  awaitingConfigTtlHours?: number;
  processMetrics?: boolean;
  adminDist?: string;
  dev?: { graceMs?: number };
}

/** Reads and checks every setting; throws CORE_CONFIG_INVALID for the first bad one. */
export function readCoreConfig(
  options: CoreConfigOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): CoreConfig {
  const ms = (name: string, raw: string | number | undefined, fallback: number, what: string) =>
    positiveSetting(name, raw, `Set ${name} in ${what} (default ${fallback}).`) ?? fallback;
  const dataDir = resolve(textSetting(options.dataDir ?? env.PX_DATA_DIR) ?? './.px-data');
  checkDataDir(dataDir);
  const masterKey = textSetting(options.masterKey ?? env.PX_MASTER_KEY);
  const keysDir = options.platformKeysDir ?? textSetting(env.PX_PLATFORM_KEYS_DIR);
  const roots = textSetting(env.PX_DEV_ROOTS?.trim())?.split(delimiter).filter(Boolean);
  const idFix = (name: string) =>
    `Set ${name} to an unused unprivileged id from 1000 to 4294967294 (default 59500); plugins run as it when core is root.`;
  const uid =
    intSetting('PX_SANDBOX_UID', env.PX_SANDBOX_UID, 1000, 4_294_967_294, idFix('PX_SANDBOX_UID')) ?? 59_500;
  const cluster = readClusterEnv(options, env);
  if (cluster.natsUrl && !masterKey)
    throw coreConfigError(
      'PX_MASTER_KEY',
      undefined,
      'is required with PX_NATS_URL: every node must open the secrets any other node sealed',
      'Generate one key (`openssl rand -base64 32`) and give the same PX_MASTER_KEY to every node.',
    );
  const auditKey = auditKeySetting(options, env, dataDir);
  if (cluster.natsUrl && !auditKey.raw && !auditKey.explicit)
    throw coreConfigError(
      'PX_AUDIT_KEY',
      undefined,
      'is required with PX_NATS_URL: every node chains the one audit log under the same key',
      'Generate one key (`openssl rand -base64 32`) and give the same PX_AUDIT_KEY (or PX_AUDIT_KEY_FILE) to every node.',
    );
  const retentionFix =
    'Set PX_RETENTION_DAYS to how many days plugin logs and dev audit details are kept (overrides dev_policy.yaml retention).';
  const config: CoreConfig = {
    dataDir,
    port:
      intSetting(
        'PX_PORT',
        options.port ?? env.PX_PORT,
        0,
        65_535,
        'Set PX_PORT to a free TCP port (default 8077; 0 picks one).',
      ) ?? 8077,
    host: textSetting(options.host ?? env.PX_HOST) ?? '127.0.0.1',
    logLevel:
      oneOfSetting(
        'PX_LOG_LEVEL',
        options.logLevel ?? env.PX_LOG_LEVEL,
        CORE_LOG_LEVELS,
        'Set PX_LOG_LEVEL to one of the listed levels (default info).',
      ) ?? 'info',
    masterKey: masterKey ? parseMasterKey(masterKey) : undefined,
    auditKey,
    adminPassword: textSetting(options.adminPassword ?? env.PX_ADMIN_PASSWORD),
    limitsFile: resolve(
      textSetting(options.limitsFile ?? env.PX_LIMITS_FILE) ??
        join(repoRoot, 'config', 'plugins', 'sandbox_limits.yaml'),
    ),
    platformKeysDir:
      keysDir === false
        ? false
        : keysDir
          ? { path: resolve(keysDir), explicit: true }
          : { path: join(repoRoot, 'config', 'keys'), explicit: false },
    awaitingConfigTtlHours:
      positiveSetting(
        'PX_AWAITING_CONFIG_TTL_HOURS',
        options.awaitingConfigTtlHours ?? env.PX_AWAITING_CONFIG_TTL_HOURS,
        'Set PX_AWAITING_CONFIG_TTL_HOURS to how long an install may wait for its configuration (default 24).',
      ) ?? 24,
    processMetrics:
      options.processMetrics ?? flagSetting('PX_PROCESS_METRICS', env.PX_PROCESS_METRICS) ?? true,
    adminDist: resolve(
      textSetting(options.adminDist ?? env.PX_ADMIN_DIST) ?? join(repoRoot, 'packages', 'admin', 'dist'),
    ),
    devPolicy: {
      file: resolve(
        textSetting(options.devPolicyFile ?? env.PX_DEV_POLICY_FILE) ??
          join(repoRoot, 'config', 'plugins', 'dev_policy.yaml'),
      ),
      overrides: {
        devMode: options.devMode,
        retentionDays: positiveSetting('PX_RETENTION_DAYS', options.retentionDays, retentionFix),
        env: {
          devMode: flagSetting('PX_PLUGIN_DEV_MODE', env.PX_PLUGIN_DEV_MODE),
          roots: roots?.length ? roots : undefined,
          sessionTtlMs: positiveSetting(
            'PX_DEV_SESSION_TTL_MS',
            env.PX_DEV_SESSION_TTL_MS,
            'Set PX_DEV_SESSION_TTL_MS in milliseconds (overrides dev_policy.yaml sessions.idleTimeoutSeconds).',
          ),
          retentionDays: positiveSetting('PX_RETENTION_DAYS', env.PX_RETENTION_DAYS, retentionFix),
        },
      },
    },
    featureFlags: { ...parseFeatureFlagsEnv(env.PX_FEATURE_FLAGS), ...options.flags },
    sandbox: {
      uid,
      gid:
        intSetting('PX_SANDBOX_GID', env.PX_SANDBOX_GID, 1000, 4_294_967_294, idFix('PX_SANDBOX_GID')) ?? uid,
      allowWeakIsolation: flagSetting('PX_ALLOW_WEAK_ISOLATION', env.PX_ALLOW_WEAK_ISOLATION) ?? false,
    },
    dev: {
      graceMs: ms('PX_DEV_GRACE_MS', options.dev?.graceMs ?? env.PX_DEV_GRACE_MS, 3000, 'milliseconds'),
    },
    cluster,
    ws: {
      heartbeatMs: ms('PX_WS_HEARTBEAT_MS', env.PX_WS_HEARTBEAT_MS, 15_000, 'milliseconds'),
      maxBufferedBytes: ms('PX_WS_MAX_BUFFERED_BYTES', env.PX_WS_MAX_BUFFERED_BYTES, 1024 * 1024, 'bytes'),
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
