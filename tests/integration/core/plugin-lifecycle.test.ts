/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * After the install: upgrade with blue/green switch, roll back to last stable, reconfigure (and its
 * rollback when unhealthy), uninstall; the validate dry run; logs, metrics, events; the audit
 * chain and its tamper detection; retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HELLO_ID,
  badPackages,
  listFiles,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type TestCore,
  TEST_STORES,
} from '../../support/core-kit.ts';

describe.each(TEST_STORES)('on %s', (store) => {
  let core: TestCore;
  let pkgs: Record<string, string>;
  let tmp: string;
  const events: Array<{ type: string; payload: any }> = [];

  beforeAll(async () => {
    tmp = await makeTmp();
    pkgs = await packFixtures(tmp);
    core = await startTestCore({ store });
    core.bus.subscribe('plugin.install.*', (e) => events.push({ type: e.type, payload: e.payload }));
  });

  afterAll(async () => {
    await stopTestCore(core);
    await rm(tmp, { recursive: true, force: true });
  });

  async function entry(): Promise<any> {
    const r = await fetch(`${core.url}/_p/sandbox-dev/${HELLO_ID}/`);
    return r.status === 200 ? r.json() : { status: r.status };
  }

  describe('validate endpoint', () => {
    it('returns every check and the wizard schema without installing anything', async () => {
      const r = await core.api.validate(pkgs.hello);
      expect(r.status).toBe(200);
      expect(r.body.ok).toBe(true);
      const ids = r.body.checks.map((c: { id: string }) => c.id);
      expect(ids).toEqual(
        expect.arrayContaining([
          'archive.safety',
          'signature.trusted',
          'tenant.dependencies',
          'tenant.conflicts',
          'tenant.quota',
        ]),
      );
      expect(r.body.wizard.env.map((e: { name: string }) => e.name)).toEqual(['GREETING', 'TIMES']);
      expect(r.body.wizard.secrets).toEqual([{ name: 'API_KEY', required: false }]);
      expect((await core.api.get('/api/tenants/sandbox-dev/plugins')).body.plugins).toEqual([]);
      expect(await readdir(join(core.dataDir, 'staging'))).toEqual([]);
    });

    it('reports the tenant checks: a missing dependency fails the dry run, nothing is installed', async () => {
      const r = await core.api.validate(pkgs['needs-base']);
      expect(r.status).toBe(200);
      expect(r.body.ok).toBe(false);
      expect(r.body.checks.find((c: { id: string }) => c.id === 'tenant.dependencies')).toMatchObject({
        ok: false,
        code: 'DEPENDENCY_MISSING',
        hint: expect.stringContaining('com.fixture.core.base'),
      });
      expect((await core.api.get('/api/installs?tenant=sandbox-dev')).body.installs).toEqual([]);
    });

    it('refuses a dry run in a production tenant', async () => {
      expect((await core.api.validate(pkgs.hello, 'default')).body.code).toBe('TENANT_NOT_SANDBOX');
    });

    it('reports failed checks with code and hint', async () => {
      const r = await core.api.validate(join(badPackages, 'tampered-file.pxp'));
      expect(r.body.ok).toBe(false);
      expect(r.body.checks.find((c: { ok: boolean; code?: string }) => !c.ok && c.code)).toMatchObject({
        code: 'PXP_HASH_MISMATCH',
        hint: expect.any(String),
      });
    });
  });

  describe('versions', () => {
    it('upgrades to a new version: the old serves until the new is healthy, then becomes last stable', async () => {
      const v1 = await core.api.install(pkgs.hello, {
        config: { env: { GREETING: 'hello v1' }, secrets: { API_KEY: 'first' } },
      });
      expect(v1.status).toBe(200);
      expect(await entry()).toMatchObject({
        version: '1.0.0',
        greeting: 'hello v1',
        customers: 5,
        seeded: 1,
      });
      const upgrade = core.api.install(pkgs['hello-v2'], { wait: false });
      // While the new one starts, the old one answers every request.
      const during: string[] = [];
      const r = await upgrade;
      expect(r.status).toBe(202);
      for (;;) {
        const state = (await core.api.get(`/api/installs/${r.body.id}`)).body.state;
        const e = await entry();
        during.push(e.version);
        if (state === 'running' || state === 'failed') break;
      }
      expect(during.every((v) => v === '1.0.0' || v === '2.0.0')).toBe(true);
      const now = await entry();
      // Generated data is not generated twice; the plugin's data survives the upgrade.
      expect(now).toMatchObject({ version: '2.0.0', customers: 5 });
      const plugin = (await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body;
      expect(plugin).toMatchObject({
        version: '2.0.0',
        lastStableVersion: '1.0.0',
        status: 'running',
        instance: { state: 'ready' },
      });
      expect(plugin.instance.isolation.level).toEqual(expect.any(String));
    });

    it('rolls back to the last stable version on request', async () => {
      const r = await core.api.post(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/rollback?wait=true`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ kind: 'rollback', state: 'running', version: '1.0.0' });
      // Config and secrets of the stable version come back with it.
      expect(await entry()).toMatchObject({ version: '1.0.0', greeting: 'hello v1', hasApiKey: true });
      const plugin = (await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body;
      expect(plugin.lastStableVersion).toBeUndefined();
      // Only the serving version's folder is kept (the replaced one is dropped once it stopped).
      for (;;) {
        const versions = await readdir(
          join(core.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID, 'versions'),
        );
        if (versions.length === 1) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const again = await core.api.post(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/rollback?wait=true`);
      expect(again).toMatchObject({ status: 409, body: { code: 'NO_STABLE_VERSION' } });
    });

    it('reconfigures with new values, keeping the secrets not given again', async () => {
      const r = await core.api.put(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/config?wait=true`, {
        env: { GREETING: 'reconfigured', TIMES: 7 },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.kind).toBe('reconfigure');
      expect(await entry()).toMatchObject({
        version: '1.0.0',
        greeting: 'reconfigured',
        times: 7,
        hasApiKey: true,
      });
    });

    it('rolls a reconfiguration back when the plugin turns unhealthy; the old config keeps serving', async () => {
      const r = await core.api.put(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/config?wait=true`, {
        env: { GREETING: 'break-health' },
      });
      expect(r.body).toMatchObject({ code: 'HEALTH_TIMEOUT', details: { stage: 'health_check' } });
      expect(await entry()).toMatchObject({ greeting: 'reconfigured' });
      expect((await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body.status).toBe(
        'running',
      );
    });

    it('refuses a reconfiguration with a value of the wrong type', async () => {
      const r = await core.api.put(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/config`, {
        env: { TIMES: 'often' },
      });
      expect(r).toMatchObject({ status: 400, body: { code: 'CONFIG_INVALID' } });
    });
  });

  describe('logs, metrics and events', () => {
    it('persists the plugin log lines and serves them with a follow cursor', async () => {
      await entry();
      let page: any;
      for (let i = 0; i < 50; i++) {
        page = (await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs`)).body;
        if (
          page.lines.some(
            (l: { msg: string; fields?: { greeting?: string } }) =>
              l.msg === 'greeted' && l.fields?.greeting === 'reconfigured',
          )
        )
          break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const line = page.lines.findLast((l: { msg: string }) => l.msg === 'greeted');
      expect(line).toMatchObject({
        tenant: 'sandbox-dev',
        plugin: HELLO_ID,
        level: 'info',
        fields: { greeting: 'reconfigured' },
      });
      const next = (
        await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs?after=${page.lastId}`)
      ).body;
      expect(next.lines.every((l: { id: number }) => l.id > page.lastId)).toBe(true);
      const audit = (await core.api.get('/api/audit?action=plugin.logs.read')).body.entries;
      expect(audit[0]).toMatchObject({ actor: 'admin', tenant: 'sandbox-dev', target: HELLO_ID });
    });

    it('exposes install, rollback and resource metrics', async () => {
      const text = await (await fetch(`${core.url}/metrics`)).text();
      expect(text).toMatch(/plugin_install_sandbox_total\{result="success"\} 2/);
      expect(text).toMatch(/plugin_install_sandbox_duration_seconds_count\{result="success"\} 2/);
      expect(text).toContain('plugin_install_rollback_total');
      expect(text).toMatch(
        new RegExp(
          `plugin_sandbox_resource_usage\\{tenant="sandbox-dev",plugin="${HELLO_ID.replaceAll('.', '\\.')}",resource="rss_mb"\\} [0-9.]+`,
        ),
      );
    });

    it('publishes install events on the bus', async () => {
      const bad = await core.api.install(pkgs['hello-unhealthy']);
      expect(bad.body.code).toBe('HEALTH_TIMEOUT');
      const completed = events.filter((e) => e.type === 'plugin.install.sandbox_completed');
      expect(completed.map((e) => e.payload.version)).toEqual(['1.0.0', '2.0.0']);
      expect(completed[0].payload).toMatchObject({
        tenant: 'sandbox-dev',
        plugin: HELLO_ID,
        installId: expect.any(String),
        durationMs: expect.any(Number),
      });
      const failed = events.filter((e) => e.type === 'plugin.install.failed');
      expect(failed.at(-1)!.payload).toMatchObject({
        tenant: 'sandbox-dev',
        plugin: HELLO_ID,
        version: '3.0.0',
        code: 'HEALTH_TIMEOUT',
        stage: 'health_check',
        installId: bad.body.details.installId,
      });
    });
  });

  describe('uninstall', () => {
    it('stops the plugin and removes its files, data and rows; quota is back to zero', async () => {
      const r = await core.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
      expect(r.status).toBe(204);
      expect((await fetch(`${core.url}/_p/sandbox-dev/${HELLO_ID}/`)).status).toBe(404);
      expect(await listFiles(join(core.dataDir, 'tenants/sandbox-dev'))).toEqual([]);
      expect(await readdir(join(core.dataDir, 'blobs'))).toEqual([]);
      const usage = (await core.api.get('/api/tenants/sandbox-dev/usage')).body;
      expect(usage).toMatchObject({ plugins: 0, memoryMb: 0, diskMb: 0, cpuPercent: 0 });
      expect((await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body.code).toBe(
        'PLUGIN_NOT_FOUND',
      );
    });
  });

  describe('audit', () => {
    it('tells the story of an install, filtered and paged', async () => {
      const first = (await core.api.get('/api/audit?tenant=sandbox-dev&action=plugin.install.*&limit=5'))
        .body;
      expect(first.entries).toHaveLength(5);
      expect(first.nextBefore).toEqual(expect.any(Number));
      const second = (
        await core.api.get(
          `/api/audit?tenant=sandbox-dev&action=plugin.install.*&limit=5&before=${first.nextBefore}`,
        )
      ).body;
      expect(second.entries[0].seq).toBeLessThan(first.entries.at(-1).seq);
      const all = (await core.api.get('/api/audit?tenant=sandbox-dev&limit=1000')).body.entries.reverse();
      const actions = new Set(all.map((e: { action: string }) => e.action));
      for (const a of [
        'plugin.package.upload',
        'plugin.package.validate',
        'plugin.config.submit',
        'plugin.install.stage',
        'plugin.install.completed',
        'plugin.install.rolled_back',
        'plugin.rollback',
        'plugin.reconfigure',
        'plugin.uninstall',
        'plugin.logs.read',
      ]) {
        expect(actions, a).toContain(a);
      }
      expect(JSON.stringify(all)).not.toContain('first'); // the API_KEY value
    });

    it('verifies the hash chain and finds the entry that was altered', async () => {
      expect((await core.api.get('/api/audit/verify')).body).toMatchObject({ ok: true });
      const [victim] = await core.sql("SELECT seq FROM audit_log WHERE action = 'plugin.uninstall'");
      const seq = Number(victim.seq);
      await core.sql("UPDATE audit_log SET outcome = 'denied' WHERE seq = ?", [seq]);
      const r = (await core.api.get('/api/audit/verify')).body;
      expect(r).toMatchObject({ ok: false, firstBadSeq: seq });
      await core.sql("UPDATE audit_log SET outcome = 'ok' WHERE seq = ?", [seq]);
      expect((await core.api.get('/api/audit/verify')).body.ok).toBe(true);
      await core.sql('DELETE FROM audit_log WHERE seq = ?', [seq - 1]);
      expect((await core.api.get('/api/audit/verify')).body).toMatchObject({
        ok: false,
        firstBadSeq: seq,
      });
    });

    it('sweeps plugin logs and sandbox audit details past retention, keeping the entries', async () => {
      const result = await core.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
      expect(result.logLinesDeleted).toBeGreaterThan(0);
      expect(result.auditDetailsCleared).toBeGreaterThan(0);
      const entries = (await core.api.get('/api/audit?tenant=sandbox-dev&limit=10')).body.entries;
      expect(entries.every((e: { details: unknown }) => e.details === null)).toBe(true);
    });
  });
});
