/**
 * Start-up: bootstrap (admin, tenants, 0600 token and key files), config validation, restart
 * with plugins serving again, dev mode and unsigned packages, secrets encrypted at rest, docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HELLO_ID,
  coreFixtures,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';

let tmp: string;
let pkgs: Record<string, string>;
let unsigned: Record<string, string>;

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  unsigned = await packFixtures(join(tmp, 'unsigned'), { unsigned: true });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('first start and restart', () => {
  it('bootstraps admin, tenants and 0600 credential files, then serves installed plugins again after a restart', async () => {
    const dir = join(tmp, 'restart');
    let core: TestCore | undefined = await startTestCore({ tmp: dir });
    try {
      expect(core.adminPassword).toEqual(expect.any(String));
      for (const f of ['admin-token', 'admin-password', 'master.key']) {
        expect(((await stat(join(core.dataDir, f))).mode & 0o777).toString(8), f).toBe('600');
      }
      expect((await readFile(join(core.dataDir, 'admin-token'), 'utf8')).trim()).toBe(core.adminToken);
      const tenants = (await core.api.get('/api/tenants')).body.tenants.map(
        (t: { id: string; kind: string }) => `${t.id}:${t.kind}`,
      );
      expect(tenants).toEqual(['default:production', 'sandbox-dev:sandbox']);
      const login = await core.api.post('/api/auth/login', {
        username: 'admin',
        password: core.adminPassword,
      });
      expect(login.status).toBe(200);
      expect(
        (await core.api.post('/api/auth/login', { username: 'admin', password: 'wrong' })).body.code,
      ).toBe('AUTH_INVALID');

      const r = await core.api.install(pkgs.hello, {
        config: { secrets: { API_KEY: 'never-on-disk-in-clear' } },
      });
      expect(r.status).toBe(200);
      const token = core.adminToken;
      await core.close();
      // Secret values are encrypted at rest: not in the database files.
      for (const f of (await readdir(core.dataDir)).filter((n) => n.startsWith('core.db'))) {
        expect((await readFile(join(core.dataDir, f))).includes('never-on-disk-in-clear'), f).toBe(false);
      }
      // A version folder no install refers to (as a crash right after a switch would leave) is swept at start.
      const stray = join(core.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID, 'versions', 'stray-install');
      await mkdir(join(stray, 'dist'), { recursive: true });
      await writeFile(join(stray, 'manifest.json'), '{}');
      core = await startTestCore({ tmp: dir });
      await expect(stat(stray)).rejects.toThrow();
      expect(
        await readdir(join(core.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID, 'versions')),
      ).toHaveLength(1);
      expect(core.adminPassword).toBeUndefined();
      expect(core.adminToken).toBe(token);
      expect(core.recovery).toMatchObject({ rolledBack: 0, started: 1, failed: 0 });
      const entry = await (await fetch(core.entryUrl('sandbox-dev', HELLO_ID))).json();
      expect(entry).toMatchObject({ version: '1.0.0', hasApiKey: true });
    } finally {
      await stopTestCore(core);
    }
  });

  it('rolls back an install in flight when core shuts down, without waiting for the plugin', async () => {
    const dir = join(tmp, 'shutdown');
    let core: TestCore | undefined = await startTestCore({ tmp: dir });
    try {
      const started = await core.api.install(pkgs['hello-slow-seed'], { wait: false });
      await core.api.waitInstall(started.body.id, (s) => s === 'seeding');
      await core.close();
      core = await startTestCore({ tmp: dir });
      expect(core.recovery.rolledBack).toBe(0);
      const install = (await core.api.get(`/api/installs/${started.body.id}`)).body;
      expect(install).toMatchObject({
        state: 'failed',
        error: { code: 'INSTALL_INTERRUPTED', stage: 'seeding' },
      });
      expect((await core.api.get('/api/tenants/sandbox-dev/usage')).body).toMatchObject({
        plugins: 0,
        memoryMb: 0,
      });
      expect(await readdir(join(core.dataDir, 'tenants/sandbox-dev')).catch(() => [])).toEqual([]);
    } finally {
      await stopTestCore(core);
    }
  });

  it('refuses to start with an invalid limits file and names the field', async () => {
    await expect(startTestCore({ limitsFile: join(coreFixtures, 'bad_limits.yaml') })).rejects.toMatchObject({
      code: 'LIMITS_CONFIG_INVALID',
      message: expect.stringContaining('defaults.maxPlugins'),
    });
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    const core = await startTestCore();
    try {
      expect((await fetch(`${core.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${core.url}/readyz`)).json()).toEqual({ status: 'ready' });
      const doc = (await (await fetch(`${core.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/plugins/install/local',
          '/internal/plugins/packages/validate',
          '/api/audit',
          '/api/me/keys',
          '/api/installs/{id}',
        ]),
      );
      const bad = await core.api.post('/api/tenants', { id: 'Bad Id', kind: 'sandbox' });
      expect(bad).toMatchObject({
        status: 400,
        body: { code: 'BAD_REQUEST', message: expect.stringContaining('id'), hint: expect.any(String) },
      });
    } finally {
      await stopTestCore(core);
    }
  });
});

describe('dev mode', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ devMode: true });
  });
  afterAll(async () => {
    await stopTestCore(core);
  });

  it('accepts an unsigned package in a sandbox tenant that allows it, and says so in the audit', async () => {
    const r = await core.api.install(unsigned.hello);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.unsigned).toBe(true);
    const audit = (await core.api.get('/api/audit?action=plugin.package.unsigned_accepted')).body.entries;
    expect(audit).toHaveLength(1);
    expect(audit[0].details.reason).toContain('dev-mode');
  });

  it('refuses an unsigned package in a sandbox tenant that does not allow it', async () => {
    expect(
      (await core.api.post('/api/tenants', { id: 'strict', kind: 'sandbox', allowUnsigned: false })).status,
    ).toBe(201);
    const r = await core.api.install(unsigned.base, { tenant: 'strict' });
    expect(r.body.code).toBe('PXP_UNSIGNED');
  });
});
