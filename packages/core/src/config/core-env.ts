/**
 * Checks core's start-up configuration (the PX_* environment and the matching startCore options)
 * before core has any side effect: no folder, key file or database is created for a configuration
 * that cannot run. Every bad value is a CORE_CONFIG_INVALID naming the variable, what is wrong and
 * how to fix it — `PX_RETENTION_DAYS=abc` used to become NaN and silently switch retention off.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PxError } from '@powerx/protocol';

/** pino's levels (plus "silent"), the values PX_LOG_LEVEL accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function coreConfigError(name: string, value: unknown, detail: string, fix: string): PxError {
  // The value is echoed unless it is a secret (the master key is never repeated).
  const shown = name === 'PX_MASTER_KEY' || value === undefined ? '' : ` (${JSON.stringify(String(value))})`;
  return new PxError('CORE_CONFIG_INVALID', { name, detail: `${detail}${shown}`, fix }, {});
}

/** An integer in [min, max]; `undefined` when unset. */
export function intSetting(
  name: string,
  raw: string | number | undefined,
  min: number,
  max: number,
  fix: string,
): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw coreConfigError(name, raw, `must be a whole number from ${min} to ${max}`, fix);
  return n;
}

/** A number > 0 (fractions allowed); `undefined` when unset. */
export function positiveSetting(
  name: string,
  raw: string | number | undefined,
  fix: string,
): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw coreConfigError(name, raw, 'must be a number greater than 0', fix);
  return n;
}

/** 32 bytes as 64 hex characters or base64 (as `openssl rand -base64 32` prints). */
export function parseMasterKey(raw: string): Buffer {
  if (/^[0-9a-f]{64}$/i.test(raw)) return Buffer.from(raw, 'hex');
  const trimmed = raw.trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || /^[A-Za-z0-9_-]+$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === 32) return key;
  }
  throw coreConfigError(
    'PX_MASTER_KEY',
    raw,
    'must be 32 bytes written as 64 hex characters or base64',
    'Generate one with `openssl rand -base64 32`, or unset PX_MASTER_KEY to use <data dir>/master.key (created on first start). Keep the same key: secrets stored with another key cannot be read.',
  );
}

/** The data folder must exist and be writable, or be creatable under a writable parent. */
export function checkDataDir(dir: string): void {
  const fix = 'Point PX_DATA_DIR at a folder core may create and write (default ./.px-data).';
  let probe = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(probe);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(probe) !== probe) {
        probe = dirname(probe);
        continue;
      }
      throw coreConfigError('PX_DATA_DIR', dir, `cannot use ${probe}: ${code}`, fix);
    }
    if (!st.isDirectory()) throw coreConfigError('PX_DATA_DIR', dir, `${probe} is not a folder`, fix);
    try {
      accessSync(probe, constants.W_OK | constants.X_OK);
    } catch {
      throw coreConfigError('PX_DATA_DIR', dir, `${probe} is not writable`, fix);
    }
    return;
  }
}

export interface CoreEnvInput {
  dataDir?: string;
  port?: number;
  logLevel?: string;
  masterKey?: string;
  retentionDays?: number;
  awaitingConfigTtlHours?: number;
  devMode?: boolean;
}

/** How plugins are sandboxed (the runtime's SandboxOptions). */
export interface SandboxConfig {
  /** Host uid/gid plugins run as when core is root (PX_SANDBOX_UID / PX_SANDBOX_GID, default 59500). */
  uid: number;
  gid: number;
  /** PX_ALLOW_WEAK_ISOLATION=1: start plugins without bubblewrap, shown as WEAK everywhere. Default off. */
  allowWeakIsolation: boolean;
}

export interface CoreEnv {
  dataDir: string;
  port: number;
  logLevel: string | undefined;
  masterKey: Buffer | undefined;
  /** Unset: the dev policy file decides (it also holds the default). */
  retentionDays: number | undefined;
  awaitingConfigTtlHours: number;
  /** Unset: the dev policy file decides. */
  devMode: boolean | undefined;
  sandbox: SandboxConfig;
}

/** Options win over the environment; every value is checked whichever it came from. */
export function readCoreEnv(options: CoreEnvInput, env: NodeJS.ProcessEnv = process.env): CoreEnv {
  const flag = (name: string): boolean | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    if (raw !== '0' && raw !== '1')
      throw coreConfigError(
        name,
        raw,
        'must be 1 (on) or 0 (off)',
        `Set ${name}=1 or ${name}=0, or unset it.`,
      );
    return raw === '1';
  };
  const logLevel = options.logLevel ?? env.PX_LOG_LEVEL;
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw coreConfigError(
      'PX_LOG_LEVEL',
      logLevel,
      `must be one of ${LOG_LEVELS.join(', ')}`,
      'Set PX_LOG_LEVEL to one of the listed levels (default info; warn for `npm start`).',
    );
  }
  const masterKeyRaw = options.masterKey ?? env.PX_MASTER_KEY;
  const dataDir = resolve(options.dataDir ?? env.PX_DATA_DIR ?? './.px-data');
  checkDataDir(dataDir);
  const result: CoreEnv = {
    dataDir,
    port:
      intSetting(
        'PX_PORT',
        options.port ?? env.PX_PORT,
        0,
        65_535,
        'Set PX_PORT to a free TCP port (default 8077; 0 picks one).',
      ) ?? 8077,
    logLevel,
    masterKey: masterKeyRaw ? parseMasterKey(masterKeyRaw) : undefined,
    retentionDays: positiveSetting(
      'PX_RETENTION_DAYS',
      options.retentionDays ?? env.PX_RETENTION_DAYS,
      'Set PX_RETENTION_DAYS to how many days plugin logs and dev audit details are kept (overrides dev_policy.yaml retention).',
    ),
    awaitingConfigTtlHours:
      positiveSetting(
        'PX_AWAITING_CONFIG_TTL_HOURS',
        options.awaitingConfigTtlHours ?? env.PX_AWAITING_CONFIG_TTL_HOURS,
        'Set PX_AWAITING_CONFIG_TTL_HOURS to how long an install may wait for its configuration (default 24).',
      ) ?? 24,
    devMode: options.devMode ?? flag('PX_PLUGIN_DEV_MODE'),
    sandbox: readSandboxConfig(env, flag),
  };
  flag('PX_PROCESS_METRICS');
  // Read elsewhere (dev service, WebSocket routes): checked here so a typo fails at start, not later.
  positiveSetting(
    'PX_DEV_GRACE_MS',
    env.PX_DEV_GRACE_MS,
    'Set PX_DEV_GRACE_MS in milliseconds (default 3000).',
  );
  positiveSetting(
    'PX_DEV_SESSION_TTL_MS',
    env.PX_DEV_SESSION_TTL_MS,
    'Set PX_DEV_SESSION_TTL_MS in milliseconds (default 30000).',
  );
  positiveSetting(
    'PX_WS_HEARTBEAT_MS',
    env.PX_WS_HEARTBEAT_MS,
    'Set PX_WS_HEARTBEAT_MS in milliseconds (default 15000).',
  );
  positiveSetting(
    'PX_WS_MAX_BUFFERED_BYTES',
    env.PX_WS_MAX_BUFFERED_BYTES,
    'Set PX_WS_MAX_BUFFERED_BYTES in bytes (default 1048576).',
  );
  return result;
}

/** The sandbox uid must be a real unprivileged id: never 0, never above the 32-bit range user namespaces map. */
function readSandboxConfig(
  env: NodeJS.ProcessEnv,
  flag: (name: string) => boolean | undefined,
): SandboxConfig {
  const fix = (name: string) =>
    `Set ${name} to an unused unprivileged id from 1000 to 4294967294 (default 59500); plugins run as it when core is root.`;
  const uid =
    intSetting('PX_SANDBOX_UID', env.PX_SANDBOX_UID, 1000, 4_294_967_294, fix('PX_SANDBOX_UID')) ?? 59_500;
  const gid =
    intSetting('PX_SANDBOX_GID', env.PX_SANDBOX_GID, 1000, 4_294_967_294, fix('PX_SANDBOX_GID')) ?? uid;
  return { uid, gid, allowWeakIsolation: flag('PX_ALLOW_WEAK_ISOLATION') ?? false };
}
