import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPxError } from '@powerx/protocol';
import { readCoreConfig } from './core-config.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'px-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isPxError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a CORE_CONFIG_INVALID');
}

describe('core configuration', () => {
  it('has one default for every setting when nothing is set', () => {
    const c = readCoreConfig({ dataDir: dir }, {});
    expect(c).toMatchObject({
      port: 8077,
      host: '127.0.0.1',
      logLevel: 'info',
      masterKey: undefined,
      awaitingConfigTtlHours: 24,
      processMetrics: true,
      featureFlags: {},
      sandbox: { uid: 59_500, gid: 59_500, allowWeakIsolation: false },
      dev: { graceMs: 3000 },
      ws: { heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024 },
    });
    expect(c.platformKeysDir).toMatchObject({ explicit: false });
    expect(c.limitsFile).toMatch(/config\/plugins\/sandbox_limits\.yaml$/);
    // Unset: the dev policy file decides dev mode, roots, session ttl and retention.
    expect(c.devPolicy.file).toMatch(/config\/plugins\/dev_policy\.yaml$/);
    expect(c.devPolicy.overrides).toEqual({
      devMode: undefined,
      retentionDays: undefined,
      env: { devMode: undefined, roots: undefined, sessionTtlMs: undefined, retentionDays: undefined },
    });
  });

  it('reads every PX_* variable', () => {
    const c = readCoreConfig(
      {},
      {
        PX_DATA_DIR: dir,
        PX_PORT: '0',
        PX_HOST: '::1',
        PX_LOG_LEVEL: 'warn',
        PX_PLUGIN_DEV_MODE: '1',
        PX_MASTER_KEY: 'ab'.repeat(32),
        PX_ADMIN_PASSWORD: 'pw',
        PX_LIMITS_FILE: '/etc/limits.yaml',
        PX_PLATFORM_KEYS_DIR: '/etc/keys',
        PX_RETENTION_DAYS: '1.5',
        PX_AWAITING_CONFIG_TTL_HOURS: '2',
        PX_PROCESS_METRICS: '0',
        PX_ADMIN_DIST: '/srv/admin',
        PX_DEV_POLICY_FILE: '/etc/dev_policy.yaml',
        PX_DEV_ROOTS: '/a:/b',
        PX_DEV_GRACE_MS: '200',
        PX_DEV_SESSION_TTL_MS: '1000',
        PX_FEATURE_FLAGS: 'plugin-dev-logs=off',
        PX_SANDBOX_UID: '61000',
        PX_ALLOW_WEAK_ISOLATION: '1',
        PX_WS_HEARTBEAT_MS: '50',
        PX_WS_MAX_BUFFERED_BYTES: '4096',
      },
    );
    expect(c).toMatchObject({
      dataDir: dir,
      port: 0,
      host: '::1',
      logLevel: 'warn',
      adminPassword: 'pw',
      limitsFile: '/etc/limits.yaml',
      platformKeysDir: { path: '/etc/keys', explicit: true },
      awaitingConfigTtlHours: 2,
      processMetrics: false,
      adminDist: '/srv/admin',
      devPolicy: {
        file: '/etc/dev_policy.yaml',
        overrides: { env: { devMode: true, roots: ['/a', '/b'], sessionTtlMs: 1000, retentionDays: 1.5 } },
      },
      featureFlags: { 'plugin-dev-logs': false },
      sandbox: { uid: 61_000, gid: 61_000, allowWeakIsolation: true },
      dev: { graceMs: 200 },
      ws: { heartbeatMs: 50, maxBufferedBytes: 4096 },
    });
    expect(c.masterKey?.length).toBe(32);
  });

  it('lets a startCore option win over its variable', () => {
    const c = readCoreConfig(
      {
        dataDir: dir,
        port: 1234,
        logLevel: 'silent',
        devMode: false,
        processMetrics: true,
        platformKeysDir: false,
        flags: { 'plugin-dev-logs': true },
      },
      {
        PX_PORT: '9',
        PX_LOG_LEVEL: 'debug',
        PX_PLUGIN_DEV_MODE: '1',
        PX_PROCESS_METRICS: '0',
        PX_PLATFORM_KEYS_DIR: '/k',
        PX_FEATURE_FLAGS: 'plugin-dev-logs=off',
      },
    );
    expect(c).toMatchObject({
      port: 1234,
      logLevel: 'silent',
      processMetrics: true,
      platformKeysDir: false,
      featureFlags: { 'plugin-dev-logs': true },
      // Both reach the dev policy, which ranks the option above the variable (dev-policy.ts).
      devPolicy: { overrides: { devMode: false, env: { devMode: true } } },
    });
  });

  it('refuses a bad value with CORE_CONFIG_INVALID naming the variable', () => {
    for (const [name, value] of [
      ['PX_PORT', '80a'],
      ['PX_LOG_LEVEL', 'loud'],
      ['PX_PLUGIN_DEV_MODE', 'yes'],
      ['PX_PROCESS_METRICS', 'true'],
      ['PX_RETENTION_DAYS', 'abc'],
      ['PX_DEV_GRACE_MS', '-1'],
      ['PX_WS_HEARTBEAT_MS', '0'],
      ['PX_SANDBOX_UID', '0'],
      ['PX_FEATURE_FLAGS', 'no-such-flag=on'],
    ]) {
      const f = failure(() => readCoreConfig({ dataDir: dir }, { [name]: value }));
      expect(f.code).toBe('CORE_CONFIG_INVALID');
      expect(f.message).toContain(name);
    }
  });

  it('never repeats a bad master key in its error', () => {
    const f = failure(() => readCoreConfig({ dataDir: dir }, { PX_MASTER_KEY: 'not-a-key-but-a-secret' }));
    expect(f.message).toContain('PX_MASTER_KEY');
    expect(f.message).not.toContain('not-a-key-but-a-secret');
  });

  it('is frozen, so no part of core can change it after start', () => {
    const c = readCoreConfig({ dataDir: dir }, {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.dev)).toBe(true);
    expect(Object.isFrozen(c.devPolicy.overrides.env)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('reads the cluster settings here too, and refuses a cluster without one shared audit key', () => {
    const env = {
      PX_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      PX_NATS_URL: 'nats://127.0.0.1:4222',
      PX_MASTER_KEY: 'a'.repeat(64),
      PX_NODE_ID: 'node-a',
      PX_DRAIN_MS: '250',
    };
    expect(failure(() => readCoreConfig({ dataDir: dir }, env))).toMatchObject({
      code: 'CORE_CONFIG_INVALID',
      message: expect.stringContaining('PX_AUDIT_KEY'),
    });
    const c = readCoreConfig({ dataDir: dir }, { ...env, PX_AUDIT_KEY: 'b'.repeat(64) });
    expect(c.cluster).toMatchObject({
      databaseUrl: env.PX_DATABASE_URL,
      natsUrl: env.PX_NATS_URL,
      nodeId: 'node-a',
      tuning: { drainMs: 250 },
    });
  });
});
