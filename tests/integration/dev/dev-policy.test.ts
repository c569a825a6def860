/**
 * The debugging permission policy (config/plugins/dev_policy.yaml): a bad file stops core naming
 * the field; SIGHUP re-reads it without a restart (a bad re-read keeps the policy in force); and
 * what it says is what core does — who may dev-install where, unsigned builds per tenant,
 * sessions per user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTmp, repoRoot, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';
import { devInstall, newSandbox, project, until } from './dev-kit.ts';

const run = promisify(execFile);
const mainTs = join(repoRoot, 'packages/core/src/main.ts');
let tmp: string;

beforeAll(async () => {
  tmp = await makeTmp('pxc-policy-');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function coreEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    HOME: tmp,
    PATH: process.env.PATH,
    PX_PORT: '0',
    PX_PLATFORM_KEYS_DIR: join(repoRoot, 'packages/package-format/fixtures/keys'),
    ...extra,
  };
}

describe('a bad dev_policy.yaml', () => {
  it('stops core at start naming the field, and nothing is created', async () => {
    const file = join(tmp, 'bad-policy.yaml');
    await writeFile(file, 'devMode: true\nsessions:\n  maxPerUser: 0\n');
    const dataDir = join(tmp, 'bad-start-data');
    const r = await run(process.execPath, [mainTs], {
      env: coreEnv({ PX_DEV_POLICY_FILE: file, PX_DATA_DIR: dataDir }),
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error DEV_POLICY_INVALID: The dev policy .*bad-policy\.yaml is invalid: sessions\.maxPerUser/,
    );
    expect(r.stderr).toMatch(/hint: Fix the named field/);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('SIGHUP', () => {
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('re-reads the policy without a restart; a bad file keeps the one in force', async () => {
    const file = join(tmp, 'hup-policy.yaml');
    const dataDir = join(tmp, 'hup-data');
    await writeFile(file, 'devMode: false\n');
    child = spawn(process.execPath, [mainTs], {
      env: coreEnv({ PX_DEV_POLICY_FILE: file, PX_DATA_DIR: dataDir }),
    });
    child.stdout!.on('data', (d) => (stdout += String(d)));
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const url = await until(() => /listening on (http:\/\/\S+)/.exec(stdout)?.[1], {
      ok: (u) => !!u,
      message: `core to listen (stderr: ${stderr})`,
      timeoutMs: 60_000,
    });
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const get = async (path: string) => {
      const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const pid = child.pid!;
    expect(await get('/api/plugins/dev/status')).toMatchObject({
      status: 404,
      body: { code: 'DEV_MODE_DISABLED' },
    });

    await writeFile(file, 'devMode: true\nsessions: {maxPerUser: 3, idleTimeoutSeconds: 45}\n');
    process.kill(pid, 'SIGHUP');
    await until(() => stdout.includes('SIGHUP: dev policy re-read'), { message: 'the re-read' });
    expect(await get('/api/plugins/dev/status')).toMatchObject({
      status: 200,
      body: { sessionTtlMs: 45_000 },
    });
    expect((await get('/api/plugins/dev/policy')).body).toMatchObject({
      devMode: true,
      sessions: { maxPerUser: 3, idleTimeoutSeconds: 45 },
    });

    await writeFile(file, 'devMode: false\nsessions: {maxPerUser: many}\n');
    process.kill(pid, 'SIGHUP');
    await until(() => stderr.includes('SIGHUP: dev policy not changed'), { message: 'the refused re-read' });
    expect(stderr).toMatch(/DEV_POLICY_INVALID: .*sessions\.maxPerUser/);
    const kept = (await get('/api/plugins/dev/policy')).body;
    expect(kept).toMatchObject({ devMode: true, sessions: { maxPerUser: 3 } });
    expect(kept.lastReloadError).toMatch(/sessions\.maxPerUser/);
    expect(child.exitCode).toBe(null); // the same process all along
  });
});

describe('what the policy says is what core does', () => {
  let core: TestCore;
  let policyFile: string;
  const write = (yaml: string) => writeFile(policyFile, yaml);

  beforeAll(async () => {
    delete process.env.PX_PLUGIN_DEV_MODE;
    process.env.PX_DEV_ROOTS = tmp;
    policyFile = join(tmp, 'effects-policy.yaml');
    await write('devMode: true\naccess: {roles: [owner]}\n');
    core = await startTestCore({ devPolicyFile: policyFile, processMetrics: false, tmp: await makeTmp() });
  });
  afterAll(async () => {
    await stopTestCore(core);
    delete process.env.PX_DEV_ROOTS;
  });

  const open = (api: TestCore['api'], tenant: string, pluginId: string) =>
    api.post('/api/plugins/dev/sessions', { tenant, pluginId });

  it('member roles: a developer member is refused until the policy admits developers, without a restart', async () => {
    await newSandbox(core.api, 'roles-box');
    const dev = await core.api.user('devon', ['plugin:dev'], ['roles-box']);
    const denied = await open(dev, 'roles-box', 'com.example.a');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'DEV_ACCESS_DENIED' });
    expect(denied.body.message).toContain('developer');
    await write('devMode: true\naccess: {roles: [owner, developer]}\n');
    await core.reloadPolicy();
    expect((await open(dev, 'roles-box', 'com.example.a')).status).toBe(201);
  });

  it('tenants: dev installs only into the sandbox tenants the policy names', async () => {
    await write('devMode: true\naccess: {tenants: [sandbox-*]}\n');
    await core.reloadPolicy();
    await newSandbox(core.api, 'team-x');
    const r = await open(core.api, 'team-x', 'com.example.b');
    expect([r.status, r.body.code]).toEqual([403, 'DEV_ACCESS_DENIED']);
    expect((await open(core.api, 'sandbox-dev', 'com.example.b')).status).toBe(201);
  });

  it('sessions per user: one more than allowed is 429 DEV_SESSION_LIMIT', async () => {
    await write('devMode: true\nsessions: {maxPerUser: 2}\n');
    await core.reloadPolicy();
    const dana = await core.api.user('dana', ['plugin:dev', 'tenant:create']);
    await newSandbox(dana, 'dana-box');
    expect((await open(dana, 'dana-box', 'com.example.one')).status).toBe(201);
    expect((await open(dana, 'dana-box', 'com.example.two')).status).toBe(201);
    const third = await open(dana, 'dana-box', 'com.example.three');
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'DEV_SESSION_LIMIT' });
    expect(third.body.message).toContain('allows 2 per user');
  });

  it('unsigned dev builds per tenant: refused where the policy says no, audited', async () => {
    await write('devMode: true\nunsignedDevBuilds: {default: true, tenants: {strict-box: false}}\n');
    await core.reloadPolicy();
    await newSandbox(core.api, 'strict-box');
    const r = await devInstall(core.api, { tenant: 'strict-box', path: await project(core, 'dev-hello') });
    expect([r.status, r.body.code]).toEqual([403, 'DEV_UNSIGNED_NOT_ALLOWED']);
    const audit = await core.api.get('/api/audit?tenant=strict-box&limit=20');
    expect(
      audit.body.entries.some(
        (e: { action: string; outcome: string }) =>
          e.action === 'plugin.dev.install' && e.outcome === 'denied',
      ),
    ).toBe(true);
    expect((await core.api.get('/api/tenants/strict-box/plugins/com.fixture.dev.hello')).status).toBe(404);
  });

  it('retention: dev audit details are cleared after retention.devAuditDays, read at each sweep', async () => {
    await write('devMode: true\nretention: {logDays: 1, devAuditDays: 3}\n');
    await core.reloadPolicy();
    const day = 86_400_000;
    expect((await core.sweepRetention(new Date(Date.now() + 2 * day))).auditDetailsCleared).toBe(0);
    expect((await core.sweepRetention(new Date(Date.now() + 4 * day))).auditDetailsCleared).toBeGreaterThan(
      0,
    );
  });

  it('dev mode off in the file: the dev endpoints answer DEV_MODE_DISABLED, the policy is still readable', async () => {
    await write('devMode: false\n');
    await core.reloadPolicy();
    expect((await core.api.get('/api/plugins/dev/status')).body.code).toBe('DEV_MODE_DISABLED');
    const policy = await core.api.get('/api/plugins/dev/policy');
    expect(policy.status).toBe(200);
    expect(policy.body).toMatchObject({ devMode: false, file: policyFile });
    expect(policy.body.overrides).toEqual([{ field: 'roots', source: 'PX_DEV_ROOTS' }]);
  });
});
