/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * A version that reached `running` and then fails while serving (restart budget spent ⇒
 * CRASH_LOOP, or stopped for a quota breach ⇒ QUOTA_MEMORY) is replaced by the last stable
 * version automatically; without one, the plugin is `failed` and says why (API and CLI).
 * Real core, real plugin processes (fixtures hello, hello-crash-loop, hello-memory-bomb).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import {
  HELLO_ID,
  makeTmp,
  packFixtures,
  repoRoot,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';
import { until } from '../../support/until.ts';

const run = promisify(execFile);
let core: TestCore;
let pkgs: Record<string, string>;
let tmp: string;
const events: Array<{ type: string; payload: any }> = [];

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(tmp);
  // Faster restarts and quota samples than the defaults, so a crash loop takes a second or two.
  core = await startTestCore({ supervisor: { restartBackoffMs: 100, quotaSampleMs: 200 } });
  for (const type of ['plugin.install.*', 'plugin.instance.*'])
    core.bus.subscribe(type, (e) => events.push({ type: e.type, payload: e.payload }));
});

afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

async function entry(path = ''): Promise<any> {
  const r = await fetch(`${core.url}/_p/sandbox-dev/${HELLO_ID}/${path}`);
  return r.status === 200 ? r.json() : { status: r.status };
}

/**
 * A trigger in core's SQLite file records, as hello's row turns failed, its active install's
 * reason and the count of `plugin.instance.failed` audit entries; returns a reader of the records.
 */
function watchPluginTurningFailed(running: TestCore): () => unknown[] {
  const file = join(running.dataDir, 'core.db');
  const db = new DatabaseSync(file);
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS test_failed_seen (error_code TEXT, failed_entries INTEGER);
      DELETE FROM test_failed_seen;
      CREATE TRIGGER IF NOT EXISTS test_failed_seen AFTER UPDATE OF status ON plugins
        WHEN NEW.status = 'failed' AND OLD.status != 'failed'
      BEGIN
        INSERT INTO test_failed_seen SELECT
          (SELECT error_code FROM installs WHERE id = NEW.active_install_id),
          (SELECT count(*) FROM audit_log WHERE action = 'plugin.instance.failed'
            AND json_extract(details, '$.installId') = NEW.active_install_id);
      END;
    `);
  } finally {
    db.close();
  }
  return () => {
    const reader = new DatabaseSync(file, { readOnly: true });
    try {
      return reader
        .prepare('SELECT * FROM test_failed_seen')
        .all()
        .map((row) => ({ ...row }));
    } finally {
      reader.close();
    }
  };
}

function plugin(): Promise<any> {
  return core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`).then((r) => r.body);
}

describe('a serving version that fails is replaced by the last stable one', () => {
  it('restores v1 when v2 crash-loops after it went running, with audit, event, metric and log line', async () => {
    expect((await core.api.install(pkgs.hello)).body.state).toBe('running');
    const v2 = await core.api.install(pkgs['hello-crash-loop']);
    expect(v2.body).toMatchObject({ state: 'running', version: '2.2.0' });
    expect(await entry()).toMatchObject({ version: '2.2.0' });
    expect(await plugin()).toMatchObject({ version: '2.2.0', lastStableVersion: '1.0.0' });

    // Arm it: the process exits, and every restart crashes shortly after start ⇒ CRASH_LOOP.
    await fetch(`${core.url}/_p/sandbox-dev/${HELLO_ID}/arm`, { method: 'POST' }).catch(() => undefined);
    const done = await until(() => events.find((e) => e.type === 'plugin.install.auto_rollback'), {
      ok: (e) => !!e,
      message: 'the auto rollback event',
      timeoutMs: 30_000,
    });
    expect(done!.payload).toMatchObject({
      tenant: 'sandbox-dev',
      plugin: HELLO_ID,
      code: 'CRASH_LOOP',
      stage: 'running',
      hint: expect.any(String),
      from: { version: '2.2.0', installId: v2.body.id },
      to: { version: '1.0.0' },
      restored: true,
    });
    expect(events.find((e) => e.type === 'plugin.instance.failed')?.payload).toMatchObject({
      code: 'CRASH_LOOP',
      version: '2.2.0',
      next: 'auto_rollback',
    });

    // v1 serves again through the entry point, with its data.
    expect(await entry()).toMatchObject({ version: '1.0.0', customers: 5 });
    const p = await plugin();
    expect(p).toMatchObject({ version: '1.0.0', status: 'running', instance: { state: 'ready' } });
    expect(p.lastStableVersion).toBeUndefined();
    expect(p.failure).toBeUndefined();

    // The failed version's install tells the story: running, then failed with the reason.
    const failed = (await core.api.get(`/api/installs/${v2.body.id}`)).body;
    expect(failed).toMatchObject({
      state: 'failed',
      error: { code: 'CRASH_LOOP', stage: 'running', hint: expect.any(String) },
    });
    expect(failed.stages.map((s: { stage: string }) => s.stage).slice(-2)).toEqual(['running', 'failed']);
    const rollbacks = (
      await core.api.get(`/api/installs?tenant=sandbox-dev&plugin=${HELLO_ID}`)
    ).body.installs.filter((i: any) => i.kind === 'rollback');
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ state: 'running', version: '1.0.0', actor: 'system' });

    const audit = (await core.api.get('/api/audit?action=plugin.install.auto_rollback')).body.entries;
    expect(audit.map((e: any) => e.outcome)).toEqual(['ok', 'started']);
    expect(audit[0]).toMatchObject({
      actor: 'system',
      tenant: 'sandbox-dev',
      target: HELLO_ID,
      details: {
        reason: { code: 'CRASH_LOOP', message: expect.stringContaining('crashed'), hint: expect.any(String) },
        from: { version: '2.2.0' },
        to: { version: '1.0.0' },
        restored: true,
      },
    });
    const instanceFailed = (await core.api.get('/api/audit?action=plugin.instance.failed')).body.entries;
    expect(instanceFailed[0]).toMatchObject({
      actor: 'system',
      outcome: 'failed',
      details: { code: 'CRASH_LOOP', version: '2.2.0', next: 'auto_rollback' },
    });
    expect((await core.api.get('/api/audit/verify')).body.ok).toBe(true);

    const metrics = await (await fetch(`${core.url}/metrics`)).text();
    expect(metrics).toMatch(/plugin_install_rollback_total\{stage="running"\} 1/);

    // The plugin's own log feed (px-plugin logs, the Admin) says why.
    const lines = await until(
      async () =>
        (await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs?limit=500`)).body
          .lines as any[],
      {
        ok: (ls) => ls.some((l) => l.msg.includes('serves again')),
        message: 'the log lines',
        timeoutMs: 30_000,
      },
    );
    expect(lines.find((l) => l.msg.includes('rolling back to the last stable version 1.0.0'))).toMatchObject({
      level: 'error',
      source: 'runtime',
      fields: { code: 'CRASH_LOOP', autoRollback: true },
    });
  });

  it('restores the stable version when the serving one is stopped for its memory quota', async () => {
    events.length = 0;
    const bomb = await core.api.install(pkgs['hello-memory-bomb']);
    expect(bomb.body).toMatchObject({ state: 'running', version: '2.3.0' });
    expect(await entry()).toMatchObject({ version: '2.3.0' });
    await fetch(`${core.url}/_p/sandbox-dev/${HELLO_ID}/bomb`, { method: 'POST' });
    const done = await until(() => events.find((e) => e.type === 'plugin.install.auto_rollback'), {
      ok: (e) => !!e,
      message: 'the auto rollback event',
      timeoutMs: 30_000,
    });
    expect(done!.payload).toMatchObject({
      code: 'QUOTA_MEMORY',
      from: { version: '2.3.0' },
      to: { version: '1.0.0' },
      restored: true,
    });
    expect(await entry()).toMatchObject({ version: '1.0.0' });
    expect(await plugin()).toMatchObject({ version: '1.0.0', status: 'running' });
    expect((await core.api.get(`/api/installs/${bomb.body.id}`)).body.error).toMatchObject({
      code: 'QUOTA_MEMORY',
      stage: 'running',
    });
  });

  it('without a stable version, the plugin is failed and the API and `px-plugin status` show why', async () => {
    events.length = 0;
    await core.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
    const only = await core.api.install(pkgs['hello-crash-loop']);
    expect(only.body.state).toBe('running');
    // What a reader sees at the moment the plugin turns failed, recorded inside SQLite itself.
    const seen = watchPluginTurningFailed(core);
    await fetch(`${core.url}/_p/sandbox-dev/${HELLO_ID}/arm`, { method: 'POST' }).catch(() => undefined);
    const p = await until(plugin, {
      ok: (b) => b.status === 'failed',
      message: 'the plugin to be failed',
      timeoutMs: 30_000,
    });
    expect(p.failure).toMatchObject({
      code: 'CRASH_LOOP',
      stage: 'running',
      message: expect.stringContaining('crashed'),
      hint: expect.any(String),
      installId: only.body.id,
    });
    // The reason and the audit entry are committed with the failed status, never after it.
    expect(seen()).toEqual([{ error_code: 'CRASH_LOOP', failed_entries: 1 }]);
    // The event follows the commit.
    const failedEvent = await until(() => events.find((e) => e.type === 'plugin.instance.failed'), {
      ok: (e) => !!e,
      message: 'the instance failed event',
      timeoutMs: 30_000,
    });
    expect(failedEvent!.payload).toMatchObject({ code: 'CRASH_LOOP', next: 'none' });
    expect(events.find((e) => e.type === 'plugin.install.auto_rollback')).toBeUndefined();
    expect((await entry()).status).toBeGreaterThanOrEqual(500);

    const home = await makeTmp('pxc-home-');
    try {
      const cli = (args: string[]) =>
        run(process.execPath, [join(repoRoot, 'packages/cli/src/main.ts'), ...args], {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: home,
            NO_COLOR: '1',
            PX_API_URL: core.url,
            PX_TOKEN: core.adminToken,
          },
        });
      const text = await cli(['status', HELLO_ID, '--tenant', 'sandbox-dev']);
      expect(text.stdout).toContain('failed');
      expect(text.stdout).toMatch(/CRASH_LOOP while running: The plugin crashed \d+ times/);
      expect(text.stdout).toContain('hint:');
      const json = JSON.parse((await cli(['status', HELLO_ID, '--tenant', 'sandbox-dev', '--json'])).stdout);
      expect(json.plugin.failure.code).toBe('CRASH_LOOP');
    } finally {
      await rm(home, { recursive: true, force: true });
    }

    // A new upload replaces the failed version; the failed one never becomes "last stable".
    const fresh = await core.api.install(pkgs.hello);
    expect(fresh.body.state).toBe('running');
    const after = await plugin();
    expect(after).toMatchObject({ version: '1.0.0', status: 'running' });
    expect(after.lastStableVersion).toBeUndefined();
    expect(after.failure).toBeUndefined();
  });
});
