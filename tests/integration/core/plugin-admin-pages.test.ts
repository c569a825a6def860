import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import {
  makeTmp,
  repoRoot,
  startTestCore,
  stopTestCore,
  testKeys,
  type TestCore,
} from '../../support/core-kit.ts';

// The e2e fixture plugin that ships an admin page (admin/index.html, manifest admin.menus).
const FIXTURE = join(repoRoot, 'tests/e2e/admin/fixtures/hello-admin');
const PLUGIN = 'com.fixture.admin.hello';
const TENANT = 'sandbox-dev';

let core: TestCore;
let tmp: string;
let entry: string;

beforeAll(async () => {
  tmp = await makeTmp();
  const pxp = (
    await packDirectory(FIXTURE, join(tmp, 'hello-admin.pxp'), {
      privateKeyPem: (await testKeys()).privateKeyPem,
    })
  ).file;
  core = await startTestCore();
  const r = await core.api.install(pxp, { config: { secrets: { API_KEY: 'k-admin-pages' } } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.state).toBe('running');
  entry = `${core.url}/_p/${TENANT}/${PLUGIN}`;
});
afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('plugin admin pages under the entry point', () => {
  it('lists the admin page of the installed plugin with the URL core serves it at', async () => {
    const r = await core.api.get(`/api/tenants/${TENANT}/admin-pages`);
    expect(r.status).toBe(200);
    expect(r.body.plugins).toEqual([
      expect.objectContaining({ pluginId: PLUGIN, pagesUrl: `/_p/${TENANT}/${PLUGIN}/_admin` }),
    ]);
  });

  it("serves the plugin's admin/index.html at <entry>/_admin/ without a token", async () => {
    const res = await fetch(`${entry}/_admin/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('<h1>Hello overview</h1>');
    const head = await fetch(`${entry}/_admin/index.html`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('redirects <entry>/_admin to the folder with its slash, so relative links resolve', async () => {
    const res = await fetch(`${entry}/_admin`, { redirect: 'manual' });
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('_admin/');
  });

  it('answers an unknown page or a path out of the admin folder with 404 and a hint, never a file outside', async () => {
    for (const path of [
      '/_admin/nope.html',
      '/_admin/..%2fmanifest.json',
      '/_admin/..%2F..%2Fdist%2Fserver.js',
    ]) {
      const res = await fetch(`${entry}${path}`);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { code: string; hint: string };
      expect(body.code).toBe('NOT_FOUND');
      expect(body.hint, path).toBeTruthy();
    }
  });

  it('refuses anything but GET and HEAD on admin pages', async () => {
    const res = await fetch(`${entry}/_admin/`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
  });

  it("sandboxes every answer under the entry point, so that none runs in the Admin's origin", async () => {
    // The admin page (served by core), the plugin's own answer (proxied), core's 404 and redirect.
    for (const path of ['/_admin/', '/', '/_admin/nope.html', '/_admin']) {
      const res = await fetch(`${entry}${path}`, { redirect: 'manual' });
      const policy = res.headers.get('content-security-policy');
      expect(policy, path).toMatch(/^sandbox allow-scripts/);
      expect(policy, path).not.toContain('allow-same-origin');
    }
  });

  it('still proxies every other path to the plugin', async () => {
    const res = await fetch(`${entry}/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ plugin: PLUGIN, greeting: 'hi' });
  });
});

describe('CORS on the entry point for the sandboxed admin frame (Origin: null)', () => {
  it('lets an opaque-origin page read the plugin backend, without credentials', async () => {
    const res = await fetch(`${entry}/`, { headers: { origin: 'null' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/origin/i);
    expect(await res.json()).toMatchObject({ plugin: PLUGIN });
  });

  it('answers preflights from an opaque origin itself, with the methods and the headers asked for', async () => {
    const res = await fetch(`${entry}/`, {
      method: 'OPTIONS',
      headers: {
        origin: 'null',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('adds no CORS header for other origins, and none to the REST API', async () => {
    const other = await fetch(`${entry}/`, { headers: { origin: 'https://evil.example' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const api = await fetch(`${core.url}/api/tenants`, {
      headers: { origin: 'null', authorization: `Bearer ${core.adminToken}` },
    });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });
});
