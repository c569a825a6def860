import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { InstanceFailure, InstanceInfo, PluginLogLine } from '@powerx/runtime';
import { openSqliteDatabase } from '../storage/open-database.ts';
import type { Db } from '../storage/schema.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { InProcessEventBus } from '../events/in-process-event-bus.ts';
import { CoreMetrics } from '../metrics/core-metrics.ts';
import type { BusEvent } from '../events/event-bus.ts';
import { InstallStore } from './install-store.ts';
import { ServingFailures } from './serving-failures.ts';
import { PluginRepository } from '../plugins/plugin-repository.ts';

const TENANT = 'sandbox-t';
const PLUGIN = 'com.example.p';
const CRASH: InstanceFailure = {
  code: 'CRASH_LOOP',
  message: 'The plugin crashed 3 times in 60 s',
  hint: 'Read the plugin logs.',
};

const KEY = Buffer.alloc(32, 7);
let dir: string;
let db: Db;
let store: InstallStore;
let audit: AuditLog;
let failures: ServingFailures;
let serving: string | undefined;
let rollbacks: string[];
let lines: PluginLogLine[];
let events: BusEvent[];
let tasks: Array<Promise<unknown>>;

function instance(id: string): InstanceInfo {
  return {
    id,
    tenant: TENANT,
    pluginId: PLUGIN,
    version: '2.0.0',
    pid: undefined,
    state: 'failed',
    socketPath: '',
    isolation: { level: 'none', permissionModel: false, networkNamespace: false, prlimit: false, notes: [] },
    startedAt: '',
    restarts: 2,
    usage: { rssMb: 0, cpuPercent: 0, diskMb: 0 },
  };
}

async function installed(withStable: boolean): Promise<string> {
  const v1 = await store.create({
    kind: 'install',
    tenant: TENANT,
    actorId: 'u',
    pluginId: PLUGIN,
    version: '1.0.0',
  });
  const v2 = await store.create({
    kind: 'install',
    tenant: TENANT,
    actorId: 'u',
    pluginId: PLUGIN,
    version: '2.0.0',
  });
  await store.transition(v2.id, 'running', { nextOutcome: 'ok' });
  const now = new Date().toISOString();
  await db
    .insertInto('plugins')
    .values({
      tenant_id: TENANT,
      plugin_id: PLUGIN,
      active_install_id: v2.id,
      active_version: '2.0.0',
      last_stable_install_id: withStable ? v1.id : null,
      last_stable_version: withStable ? '1.0.0' : null,
      status: 'running',
      memory_mb: 64,
      disk_mb: 16,
      cpu_percent: 50,
      package_bytes: 1,
      installed_at: now,
      updated_at: now,
    })
    .execute();
  return v2.id;
}

async function settle(): Promise<void> {
  while (tasks.length) await Promise.all(tasks.splice(0));
  await audit.flush();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'px-serving-'));
  db = await openSqliteDatabase(join(dir, 'core.db'));
  store = new InstallStore(db);
  audit = new AuditLog(db, { key: KEY });
  const bus = new InProcessEventBus(() => {});
  events = [];
  bus.subscribe('plugin.*', (e) => events.push(e));
  rollbacks = [];
  lines = [];
  tasks = [];
  serving = 'i-2';
  failures = new ServingFailures({
    plugins: new PluginRepository(db),
    store,
    audit,
    bus,
    metrics: new CoreMetrics(() => undefined, false),
    log: pino({ level: 'silent' }),
    pluginLogs: { write: (line) => lines.push(line) },
    isServing: (_t, _p, id) => serving === id,
    rollbackToStable: async (principal, tenant, pluginId) => {
      rollbacks.push(principal.username);
      const row = await store.create({
        kind: 'rollback',
        tenant,
        actorId: principal.userId,
        pluginId,
        version: '1.0.0',
      });
      await store.transition(row.id, 'running', { nextOutcome: 'ok' });
      serving = 'i-1';
      return (await store.get(row.id))!;
    },
    waitSettled: async (id) => (await store.get(id))!,
    track: (task) => void tasks.push(task),
  });
});

afterEach(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('serving failures', () => {
  it('records the failure and restores the last stable version as system, once', async () => {
    const v2 = await installed(true);
    failures.onInstanceFailed(instance('i-2'), CRASH);
    await settle();
    expect(rollbacks).toEqual(['system']);
    expect(await store.get(v2)).toMatchObject({
      state: 'failed',
      error_code: 'CRASH_LOOP',
      error_stage: 'running',
      error_hint: CRASH.hint,
    });
    expect(events.map((e) => e.type)).toEqual(['plugin.instance.failed', 'plugin.install.auto_rollback']);
    expect(events[1].payload).toMatchObject({
      code: 'CRASH_LOOP',
      hint: CRASH.hint,
      from: { version: '2.0.0' },
      to: { version: '1.0.0' },
      restored: true,
    });
    const { entries } = await audit.query({ action: 'plugin.install.auto_rollback' });
    expect(entries.map((e) => e.outcome)).toEqual(['ok', 'started']);
    expect(lines.map((l) => l.level)).toEqual(['error', 'warn']);
    // The same instance failing again (it is no longer serving) changes nothing.
    failures.onInstanceFailed(instance('i-2'), CRASH);
    await settle();
    expect(rollbacks).toHaveLength(1);
  });

  it('leaves the plugin failed, with the reason, when there is no stable version', async () => {
    const v2 = await installed(false);
    failures.onInstanceFailed(instance('i-2'), CRASH);
    await settle();
    expect(rollbacks).toEqual([]);
    expect((await db.selectFrom('plugins').select('status').executeTakeFirst())?.status).toBe('failed');
    expect(await store.get(v2)).toMatchObject({ state: 'failed', error_code: 'CRASH_LOOP' });
    expect(events[0].payload).toMatchObject({ next: 'none' });
    expect(lines[0].msg).toContain('no last stable version');
  });

  it('leaves a failure during the dev grace watch to the watch when it handles it', async () => {
    await installed(true);
    const release = failures.hold(TENANT, PLUGIN, 'i-2');
    failures.onInstanceFailed(instance('i-2'), CRASH);
    release(true); // released while the failure is still being recorded
    await settle();
    expect(rollbacks).toEqual([]);
    expect(events[0].payload).toMatchObject({ next: 'dev_grace_watch' });
  });

  it('handles a failure the dev grace watch released unhandled', async () => {
    await installed(true);
    const release = failures.hold(TENANT, PLUGIN, 'i-2');
    failures.onInstanceFailed(instance('i-2'), CRASH);
    await settle();
    expect(rollbacks).toEqual([]);
    release(false);
    await settle();
    expect(rollbacks).toEqual(['system']);
  });

  it('does not roll back again when the watch already rolled back for a crash before the instance failed', async () => {
    await installed(true);
    failures.hold(TENANT, PLUGIN, 'i-2')(true); // the watch saw a restart and rolled back itself
    failures.onInstanceFailed(instance('i-2'), CRASH); // the budget runs out before its rollback switched
    await settle();
    expect(rollbacks).toEqual([]);
    expect(events[0].payload).toMatchObject({ next: 'handled' });
  });
});
