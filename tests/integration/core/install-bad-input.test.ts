/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * Bad input and faults of an install, each against a real core with real plugin processes. After
 * each: the right code and hint, nothing half-installed (files, rows, processes), quota back
 * where it was, the previous version serving, and audit entries that tell the story.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HELLO_ID,
  badPackages,
  coreFixtures,
  listFiles,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  testKeys,
  type Api,
  type TestCore,
} from '../../support/core-kit.ts';

let core: TestCore;
let pkgs: Record<string, string>;
let untrustedPkgs: Record<string, string>;
let tmp: string;

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'signed'));
  untrustedPkgs = await packFixtures(join(tmp, 'untrusted'), {
    privateKeyPem: (await testKeys()).untrustedPrivateKeyPem,
  });
  core = await startTestCore({ limitsFile: join(coreFixtures, 'tight_limits.yaml') });
  for (const id of ['q-plugins', 'q-memory', 'q-disk', 'q-cpu', 'q-size', 'q-rate', 'deps', 'conflicts']) {
    expect((await core.api.post('/api/tenants', { id, kind: 'sandbox' })).status).toBe(201);
  }
  // The previous version that must keep serving through every failed upgrade below.
  const v1 = await core.api.install(pkgs.hello);
  expect(v1.status, JSON.stringify(v1.body)).toBe(200);
});

afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

interface Snapshot {
  usage: unknown;
  plugins: unknown;
  tenantFiles: string[];
  staging: string[];
  uploads: string[];
  blobs: string[];
  processes: number;
}

async function snapshot(tenant: string): Promise<Snapshot> {
  const usage = (await core.api.get(`/api/tenants/${tenant}/usage`)).body;
  delete usage.installsLastMinute;
  const plugins = (await core.api.get(`/api/tenants/${tenant}/plugins`)).body.plugins.map(
    (p: Record<string, unknown>) => ({
      id: p.pluginId,
      version: p.version,
      status: p.status,
      install: p.activeInstallId,
    }),
  );
  return {
    usage,
    plugins,
    tenantFiles: (await listFiles(join(core.dataDir, 'tenants', tenant))).filter(
      (f) => !f.includes('/data/'),
    ),
    staging: await readdir(join(core.dataDir, 'staging')),
    uploads: await readdir(join(core.dataDir, 'uploads')),
    blobs: (await readdir(join(core.dataDir, 'blobs'))).sort(),
    processes: (await core.api.get(`/api/tenants/${tenant}/plugins`)).body.plugins.filter(
      (p: { instance?: unknown }) => p.instance,
    ).length,
  };
}

async function entryVersion(tenant = 'sandbox-dev', plugin = HELLO_ID): Promise<string | undefined> {
  const r = await fetch(`${core.url}/_p/${tenant}/${plugin}/`);
  return r.status === 200 ? ((await r.json()) as { version: string }).version : undefined;
}

async function auditOf(
  tenant: string,
  installId: string,
): Promise<Array<{ action: string; outcome: string; details: Record<string, unknown> | null }>> {
  const page = (await core.api.get(`/api/audit?tenant=${tenant}&limit=200`)).body;
  return page.entries
    .filter(
      (e: { details: Record<string, unknown> | null; target: string }) =>
        e.details?.installId === installId || e.target === installId,
    )
    .reverse();
}

/** Installs, expects a failure with `code` at `stage`, and checks the aftermath. */
async function expectRolledBack(
  api: Api,
  pxp: string,
  tenant: string,
  code: string,
  stage: string,
  config?: unknown,
): Promise<{ body: any; install: any }> {
  const before = await snapshot(tenant);
  const r = await api.install(pxp, { tenant, config });
  expect(r.body.code, JSON.stringify(r.body)).toBe(code);
  expect(r.body.hint).toEqual(expect.any(String));
  expect(r.body.hint.length).toBeGreaterThan(10);
  expect(r.body.details.stage).toBe(stage);
  const install = (await core.api.get(`/api/installs/${r.body.details.installId}`)).body;
  expect(install.state).toBe('failed');
  expect(install.error).toMatchObject({ code, stage });
  expect(install.stages.at(-2).stage).toBe('rolling_back');
  expect(await snapshot(tenant)).toEqual(before);
  const story = await auditOf(tenant, install.id);
  expect(story.map((e) => e.action)).toContain('plugin.install.rolled_back');
  expect(story.find((e) => e.action === 'plugin.install.rolled_back')).toMatchObject({
    outcome: 'failed',
    details: { code, stage },
  });
  return { body: r.body, install };
}

describe('packages that are not trusted', () => {
  it('refuses an unsigned package on a core that is not in dev mode', async () => {
    const { body } = await expectRolledBack(
      core.api,
      join(badPackages, 'unsigned.pxp'),
      'sandbox-dev',
      'PXP_UNSIGNED',
      'validating',
    );
    expect(body.hint).toMatch(/keygen|sign/);
  });

  it('refuses a package signed by a key nobody registered', async () => {
    await expectRolledBack(core.api, untrustedPkgs.base, 'deps', 'PXP_KEY_UNTRUSTED', 'validating');
  });

  it('trusts a developer key only for the developer who registered it', async () => {
    const alice = await core.api.user('alice', ['plugin:dev'], ['deps']);
    const bob = await core.api.user('bob', ['plugin:dev'], ['deps']);
    const { untrustedPublicKeyPem } = await testKeys();
    const added = await alice.post('/api/me/keys', { publicKeyPem: untrustedPublicKeyPem, name: 'laptop' });
    expect(added.status).toBe(201);
    expect((await alice.get('/api/me/keys')).body.keys.map((k: { keyId: string }) => k.keyId)).toEqual([
      added.body.keyId,
    ]);
    await expectRolledBack(bob, untrustedPkgs.base, 'deps', 'PXP_KEY_UNTRUSTED', 'validating');
    const ok = await alice.install(untrustedPkgs.base, { tenant: 'deps' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.signerKeyId).toBe(added.body.keyId);
    expect((await core.api.delete(`/api/tenants/deps/plugins/com.fixture.core.base`)).status).toBe(204);
    const audit = (await core.api.get('/api/audit?action=keys.register')).body.entries;
    expect(audit[0]).toMatchObject({ actor: 'alice', target: added.body.keyId, outcome: 'ok' });
  });

  it('refuses a tampered package', async () => {
    await expectRolledBack(
      core.api,
      join(badPackages, 'tampered-file.pxp'),
      'sandbox-dev',
      'PXP_HASH_MISMATCH',
      'validating',
    );
  });

  it('refuses a package whose signature was altered', async () => {
    await expectRolledBack(
      core.api,
      join(badPackages, 'signature-flipped.pxp'),
      'sandbox-dev',
      'PXP_SIGNATURE_INVALID',
      'validating',
    );
  });
});

describe('tenant checks', () => {
  it('refuses a plugin whose dependency is missing', async () => {
    const { body } = await expectRolledBack(
      core.api,
      pkgs['needs-base'],
      'deps',
      'DEPENDENCY_MISSING',
      'validating',
    );
    expect(body.message).toContain('com.fixture.core.base');
  });

  it('reports the whole dependency conflict when the installed version does not match', async () => {
    expect((await core.api.install(pkgs.base, { tenant: 'deps' })).status).toBe(200);
    const { install } = await expectRolledBack(
      core.api,
      pkgs['needs-base-v2'],
      'deps',
      'DEPENDENCY_VERSION',
      'validating',
    );
    const check = install.checks.find((c: { id: string }) => c.id === 'tenant.dependencies');
    expect(check.message).toContain('requires com.fixture.core.base ^2.0.0; tenant deps has 1.0.0');
    expect(check.message).toContain('com.fixture.core.absent');
    // and the matching dependency installs
    expect((await core.api.install(pkgs['needs-base'], { tenant: 'deps' })).status).toBe(200);
  });

  it('refuses to uninstall a plugin another one requires', async () => {
    const r = await core.api.delete('/api/tenants/deps/plugins/com.fixture.core.base');
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('PLUGIN_CONFLICT');
  });

  it('refuses a plugin that declares a conflict with an installed one', async () => {
    const { body } = await expectRolledBack(
      core.api,
      pkgs.conflicting,
      'sandbox-dev',
      'PLUGIN_CONFLICT',
      'validating',
    );
    expect(body.message).toContain(HELLO_ID);
  });

  it('refuses a plugin made for another core version', async () => {
    const { body } = await expectRolledBack(
      core.api,
      pkgs['future-core'],
      'sandbox-dev',
      'CORE_INCOMPATIBLE',
      'validating',
    );
    expect(body.message).toContain('1.4.0');
  });

  it.each([
    ['q-plugins', 'plugins'],
    ['q-memory', 'memory'],
    ['q-disk', 'disk'],
    ['q-cpu', 'cpu'],
  ])('refuses an install over the quota of tenant %s (%s)', async (tenant, quota) => {
    // Each tenant's quota fits one fixture plugin but not two.
    expect((await core.api.install(pkgs.base, { tenant })).status).toBe(200);
    const { body } = await expectRolledBack(core.api, pkgs.hello, tenant, 'QUOTA_EXCEEDED', 'validating');
    expect(body.message).toContain(quota);
  });

  it('answers 413 with the limit for a package over the tenant size quota, keeping nothing', async () => {
    const before = await snapshot('q-size');
    const r = await core.api.install(pkgs.hello, { tenant: 'q-size' });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 'UPLOAD_TOO_LARGE', details: { limit: 1048 } });
    expect(await snapshot('q-size')).toEqual(before);
    // Audited with the tenant it was meant for, although the tenant came as a multipart field.
    const [refused] = (await core.api.get('/api/audit?action=plugin.package.upload&outcome=failed&limit=1'))
      .body.entries;
    expect(refused).toMatchObject({
      tenant: 'q-size',
      actor: 'admin',
      details: { code: 'UPLOAD_TOO_LARGE' },
    });
    const validated = await core.api.validate(pkgs.hello, 'q-size');
    expect(validated.status).toBe(413);
    const [refusedValidation] = (
      await core.api.get('/api/audit?action=plugin.package.validate&outcome=failed&limit=1')
    ).body.entries;
    expect(refusedValidation).toMatchObject({ tenant: 'q-size', details: { code: 'UPLOAD_TOO_LARGE' } });
  });

  it('answers 413 for an upload over the largest limit of any tenant', async () => {
    const big = join(tmp, 'big.pxp');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(big, Buffer.alloc(6 * 1024 * 1024, 1));
    const r = await core.api.install(big, { tenant: 'sandbox-dev' });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('UPLOAD_TOO_LARGE');
    expect(r.body.details.limit).toBe(5 * 1024 * 1024);
    expect(await readdir(join(core.dataDir, 'uploads'))).toEqual([]);
  });

  it('refuses installs over the per-minute rate with 429', async () => {
    expect((await core.api.install(pkgs.base, { tenant: 'q-rate' })).status).toBe(200);
    const r = await core.api.install(pkgs.hello, { tenant: 'q-rate' });
    expect(r.status).toBe(429);
    expect(r.body.code).toBe('QUOTA_EXCEEDED');
    expect(r.body.message).toContain('installs per minute');
    const [refused] = (await core.api.get('/api/audit?action=plugin.package.upload&outcome=denied&limit=1'))
      .body.entries;
    expect(refused).toMatchObject({ tenant: 'q-rate', details: { code: 'QUOTA_EXCEEDED' } });
  });
});

describe('access', () => {
  it('refuses dev installs into a production tenant', async () => {
    const before = await snapshot('default');
    const r = await core.api.install(pkgs.hello, { tenant: 'default' });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('TENANT_NOT_SANDBOX');
    expect(await snapshot('default')).toEqual(before);
    const audit = (await core.api.get('/api/audit?tenant=default&action=plugin.package.upload')).body.entries;
    expect(audit[0]).toMatchObject({ outcome: 'denied', details: { code: 'TENANT_NOT_SANDBOX' } });
  });

  it('refuses installs into a tenant of another user', async () => {
    const carol = await core.api.user('carol', ['plugin:dev']);
    const r = await carol.install(pkgs.hello, { tenant: 'sandbox-dev' });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('TENANT_NOT_MEMBER');
    expect((await carol.get('/api/tenants/sandbox-dev/plugins')).body.code).toBe('TENANT_NOT_MEMBER');
  });

  it('refuses installs without the plugin:dev permission', async () => {
    const dave = await core.api.user('dave', [], ['sandbox-dev']);
    const r = await dave.install(pkgs.hello, { tenant: 'sandbox-dev' });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'PERMISSION_MISSING', hint: expect.stringContaining('plugin:dev') });
  });

  it('refuses requests without a token or with a wrong one', async () => {
    expect((await fetch(`${core.url}/api/tenants`)).status).toBe(401);
    const r = await core.api.as('pxt_wrong').get('/api/tenants');
    expect(r).toMatchObject({ status: 401, body: { code: 'AUTH_INVALID' } });
  });
});

describe('wizard', () => {
  it('refuses values of the wrong type and keeps nothing', async () => {
    const { body } = await expectRolledBack(
      core.api,
      pkgs.wizard,
      'sandbox-dev',
      'CONFIG_INVALID',
      'awaiting_config',
      { env: { RETRIES: 'many' }, secrets: { TOKEN: 't' } },
    );
    expect(body.message).toContain('RETRIES');
  });

  it('waits in awaiting_config for required values, then completes; secrets are never returned', async () => {
    const r = await core.api.install(pkgs.wizard, { config: { env: { MODE: 'fast' } } });
    expect(r.status).toBe(202);
    expect(r.body.state).toBe('awaiting_config');
    expect(r.body.missingConfig).toEqual(['RETRIES', 'TOKEN']);
    expect(r.body.wizard.secrets).toEqual([
      { name: 'TOKEN', required: true, description: 'API token of the upstream service' },
    ]);
    const wrong = await core.api.post(`/api/installs/${r.body.id}/config?wait=true`, {
      env: { VERBOSE: 'perhaps' },
    });
    expect(wrong.body.code).toBe('CONFIG_INVALID');
    expect((await core.api.get(`/api/installs/${r.body.id}`)).body.state).toBe('awaiting_config');
    const done = await core.api.post(`/api/installs/${r.body.id}/config?wait=true`, {
      env: { RETRIES: '4', VERBOSE: 'true' },
      secrets: { TOKEN: 'sup3r-s3cret' },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.config).toEqual({
      env: { RETRIES: 4, MODE: 'fast', VERBOSE: true },
      secrets: ['TOKEN'],
      logLevel: 'warn',
    });
    const entry = await (await fetch(done.body.entryUrl)).json();
    expect(entry).toEqual({ retries: 4, mode: 'fast', verbose: true, tokenLength: 12 });
    const audit = JSON.stringify((await core.api.get('/api/audit?tenant=sandbox-dev&limit=500')).body);
    expect(audit).not.toContain('sup3r-s3cret');
    expect(JSON.stringify(done.body)).not.toContain('sup3r-s3cret');
    expect((await core.api.delete('/api/tenants/sandbox-dev/plugins/com.fixture.core.wizard')).status).toBe(
      204,
    );
  });
});

describe('faults of the plugin', () => {
  it('rolls back a version that fails its health check; the previous version keeps serving', async () => {
    expect(await entryVersion()).toBe('1.0.0');
    const { install } = await expectRolledBack(
      core.api,
      pkgs['hello-unhealthy'],
      'sandbox-dev',
      'HEALTH_TIMEOUT',
      'health_check',
    );
    expect(install.stages.map((s: { stage: string }) => s.stage)).toEqual([
      'received',
      'validating',
      'awaiting_config',
      'provisioning',
      'starting',
      'health_check',
      'rolling_back',
      'failed',
    ]);
    expect(await entryVersion()).toBe('1.0.0');
  });

  it('rolls back a version whose seed hook crashes the process; the previous version keeps serving', async () => {
    await expectRolledBack(core.api, pkgs['hello-seed-crash'], 'sandbox-dev', 'SEED_FAILED', 'seeding');
    expect(await entryVersion()).toBe('1.0.0');
  });

  it('serializes two concurrent installs of the same plugin: one runs, the other is refused', async () => {
    const [a, b] = await Promise.all([
      core.api.install(pkgs['hello-v2']),
      core.api.install(pkgs['hello-v2']),
    ]);
    const results = [a, b].map((r) => r.body.state ?? r.body.code).sort();
    expect(results).toEqual(['INSTALL_IN_PROGRESS', 'running']);
    const refused = [a, b].find((r) => r.body.code)!;
    expect(refused.status).toBe(409);
    expect(refused.body.hint).toContain('Wait');
    expect(await entryVersion()).toBe('2.0.0');
    const plugin = (await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body;
    expect(plugin).toMatchObject({ version: '2.0.0', lastStableVersion: '1.0.0', status: 'running' });
  });

  it('returns the same install for a retried upload with the same Idempotency-Key', async () => {
    const first = await core.api.install(pkgs.base, { tenant: 'conflicts', idempotencyKey: 'retry-1' });
    const again = await core.api.install(pkgs.base, { tenant: 'conflicts', idempotencyKey: 'retry-1' });
    expect(first.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await core.api.get('/api/installs?tenant=conflicts')).body.installs).toHaveLength(1);
  });
});

describe('installs waiting for configuration', () => {
  it('is replaced by a new upload of the same plugin, and can be cancelled, keeping nothing', async () => {
    const before = await snapshot('conflicts');
    const waiting = await core.api.install(pkgs.wizard, { tenant: 'conflicts' });
    expect(waiting.body.state).toBe('awaiting_config');
    const second = await core.api.install(pkgs.wizard, { tenant: 'conflicts' });
    expect(second.body.state).toBe('awaiting_config');
    expect((await core.api.get(`/api/installs/${waiting.body.id}`)).body).toMatchObject({
      state: 'failed',
      error: { code: 'INSTALL_CANCELLED', stage: 'awaiting_config' },
    });
    expect((await core.api.delete(`/api/installs/${second.body.id}`)).status).toBe(204);
    expect((await core.api.get(`/api/installs/${second.body.id}`)).body.error.code).toBe('INSTALL_CANCELLED');
    expect(await snapshot('conflicts')).toEqual(before);
  });

  it('is cancelled when it waited too long, giving its quota back', async () => {
    const before = await snapshot('conflicts');
    const waiting = await core.api.install(pkgs.wizard, { tenant: 'conflicts' });
    expect(waiting.body.state).toBe('awaiting_config');
    expect((await core.api.get('/api/tenants/conflicts/usage')).body.plugins).toBe(
      (before.usage as { plugins: number }).plugins + 1,
    );
    expect(await core.expireWaitingInstalls(new Date(Date.now() + 2 * 86_400_000))).toBe(1);
    const install = (await core.api.get(`/api/installs/${waiting.body.id}`)).body;
    expect(install.error).toMatchObject({
      code: 'INSTALL_CANCELLED',
      message: expect.stringContaining('waited more than 24 h'),
    });
    expect(await snapshot('conflicts')).toEqual(before);
  });
});
