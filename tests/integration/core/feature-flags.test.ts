/**
 * The three feature flags: listed by GET /api/version, on by default, and each a real switch —
 * with one off, what it gates answers FEATURE_DISABLED naming the flag, with the hint to turn it
 * back on, and the rest of core keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HELLO_ID,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';
import { WsClient } from '../dev/dev-kit.ts';

let tmp: string;
let pkgs: Record<string, string>;
beforeAll(async () => {
  tmp = await makeTmp('pxc-flags-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function expectDisabled(body: { code: string; message: string; hint: string }, flag: string): void {
  expect(body.code).toBe('FEATURE_DISABLED');
  expect(body.message).toContain(flag);
  expect(body.hint).toContain(`${flag}=off`);
}

async function versionFlags(core: TestCore): Promise<Record<string, boolean>> {
  const r = await fetch(`${core.url}/api/version`);
  const body = (await r.json()) as { flags: Array<{ name: string; enabled: boolean }> };
  return Object.fromEntries(body.flags.map((f) => [f.name, f.enabled]));
}

describe('by default', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ processMetrics: false });
  });
  afterAll(() => stopTestCore(core));

  it('GET /api/version lists the three flags, all on', async () => {
    expect(await versionFlags(core)).toEqual({
      'px-plugin-runtime-v2': true,
      'plugin-sandbox-mode': true,
      'plugin-dev-logs': true,
    });
  });
});

describe('px-plugin-runtime-v2 off', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ processMetrics: false, flags: { 'px-plugin-runtime-v2': false } });
  });
  afterAll(() => stopTestCore(core));

  it('starts no plugin process: the install rolls back at starting with FEATURE_DISABLED', async () => {
    expect((await versionFlags(core))['px-plugin-runtime-v2']).toBe(false);
    const r = await core.api.install(pkgs.hello);
    expectDisabled(r.body, 'px-plugin-runtime-v2');
    expect(r.body.details.stage).toBe('starting');
    const install = (await core.api.get(`/api/installs/${r.body.details.installId}`)).body;
    expect(install.state).toBe('failed');
    expect((await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(404);
  });
});

describe('plugin-sandbox-mode off', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ processMetrics: false, flags: { 'plugin-sandbox-mode': false } });
  });
  afterAll(() => stopTestCore(core));

  it('refuses new sandbox tenants, installs into sandbox tenants and test entry points', async () => {
    const tenant = await core.api.post('/api/tenants', { id: 'new-box', kind: 'sandbox' });
    expect(tenant.status).toBe(404);
    expectDisabled(tenant.body, 'plugin-sandbox-mode');
    const install = await core.api.install(pkgs.hello);
    expectDisabled(install.body, 'plugin-sandbox-mode');
    const validate = await core.api.validate(pkgs.hello);
    expectDisabled(validate.body, 'plugin-sandbox-mode');
    const entry = await fetch(core.entryUrl('sandbox-dev', HELLO_ID));
    expect(entry.status).toBe(404);
    expectDisabled((await entry.json()) as never, 'plugin-sandbox-mode');
  });

  it('leaves production tenants alone', async () => {
    expect((await core.api.post('/api/tenants', { id: 'prod-b', kind: 'production' })).status).toBe(201);
    expect((await core.api.get('/api/tenants')).status).toBe(200);
  });
});

describe('plugin-dev-logs off', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ processMetrics: false, flags: { 'plugin-dev-logs': false } });
  });
  afterAll(() => stopTestCore(core));

  it('the live log channel answers FEATURE_DISABLED; the plugin itself still installs and serves', async () => {
    expect((await core.api.install(pkgs.hello)).status).toBe(200);
    const ws = new WsClient(core, { authorization: `Bearer ${core.adminToken}` });
    await ws.opened;
    ws.send({ type: 'subscribe', channel: 'plugin.dev.logs', tenant: 'sandbox-dev', plugin: HELLO_ID });
    const error = await ws.waitFor((f) => f.type === 'error', 'the error frame');
    expectDisabled(error, 'plugin-dev-logs');
    expect(ws.frames.some((f) => f.type === 'subscribed' || f.type === 'log')).toBe(false);
    ws.close();
    expect((await fetch(core.entryUrl('sandbox-dev', HELLO_ID))).status).toBe(200);
  });
});
