/**
 * Path-mode dev installs read only the allowed roots, never core's data folder, and their errors
 * say nothing about what lies outside: the attacks of a developer who knows where core keeps
 * another tenant's installed versions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELLO_ID, packFixtures } from '../../support/core-kit.ts';
import { devInstall, project, startDevCore, stopTestCore, type TestCore } from './dev-kit.ts';
import type { Api } from '../../support/core-kit.ts';

// The data folder of the test core lies under the temp folder, so the roots contain it.
process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '300';

let core: TestCore;
let mallory: Api;
let versionDir: string;

beforeAll(async () => {
  core = await startDevCore();
  const pkgs = await packFixtures(join(core.tmp, 'pkgs'));
  // Tenant B: a sandbox that accepts signed packages only, with a plugin installed.
  expect((await core.api.post('/api/tenants', { id: 'tenant-b', kind: 'sandbox' })).status).toBe(201);
  const installed = await core.api.install(pkgs.hello, {
    tenant: 'tenant-b',
    config: { env: { GREETING: 'tenant b secret' } },
  });
  expect(installed.status, JSON.stringify(installed.body)).toBe(200);
  const versions = join(core.dataDir, 'tenants/tenant-b/plugins', HELLO_ID, 'versions');
  versionDir = join(versions, (await readdir(versions))[0]);
  // Mallory is a developer, not a member of tenant B, with a sandbox of her own.
  mallory = await core.api.user('mallory', ['plugin:dev', 'tenant:create']);
  expect((await mallory.post('/api/tenants', { id: 'mallory-box', kind: 'sandbox' })).status).toBe(201);
});
afterAll(async () => {
  await stopTestCore(core);
});

async function pluginIn(tenant: string): Promise<number> {
  return (await core.api.get(`/api/tenants/${tenant}/plugins/${HELLO_ID}`)).status;
}

describe("core's data folder is never a dev source", () => {
  it("refuses another tenant's installed version folder, whatever the roots say", async () => {
    const r = await devInstall(mallory, { tenant: 'mallory-box', path: versionDir });
    expect(r.status, JSON.stringify(r.body)).toBe(403);
    expect(r.body.code).toBe('PATH_NOT_ALLOWED');
    expect(await pluginIn('mallory-box')).toBe(404);
  });

  it('refuses it through a link inside an allowed root, and refuses the data folder itself', async () => {
    const link = join(core.tmp, 'innocent-project');
    await symlink(versionDir, link);
    for (const path of [link, core.dataDir, join(core.dataDir, 'tenants')]) {
      const r = await devInstall(mallory, { tenant: 'mallory-box', path });
      expect([r.status, r.body.code], path).toEqual([403, 'PATH_NOT_ALLOWED']);
    }
    expect(await pluginIn('mallory-box')).toBe(404);
  });
});

describe('dev-root errors reveal nothing outside the roots', () => {
  it('answers alike for links to an existing folder, to nothing, and for a missing folder', async () => {
    const links = join(core.tmp, 'probe');
    await mkdir(links);
    await symlink('/etc', join(links, 'to-etc'));
    await symlink('/nonexistent-px-probe', join(links, 'to-nothing'));
    const answers = [];
    for (const name of ['to-etc', 'to-nothing', 'no-such-folder']) {
      const path = join(links, name);
      const r = await devInstall(mallory, { tenant: 'mallory-box', path });
      answers.push({
        status: r.status,
        code: r.body.code,
        message: r.body.message.replace(path, '<path>'),
        hint: r.body.hint,
        details: JSON.stringify(r.body.details ?? {}).replace(path, '<path>'),
      });
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(JSON.stringify(answers)).not.toMatch(/\/etc|nonexistent/);
  });

  it('a link inside a project: the same answer whether its target exists or not', async () => {
    const existing = await project(core, 'dev-hello');
    await symlink('/etc/hostname', join(existing, 'dist/leak.txt'));
    const missing = await project(core, 'dev-hello');
    await symlink('/nonexistent-px-probe', join(missing, 'dist/leak.txt'));
    const a = await devInstall(mallory, { tenant: 'mallory-box', path: existing });
    const b = await devInstall(mallory, { tenant: 'mallory-box', path: missing });
    expect(a.body.code).toBe('DEV_PATH_LINK_OUT');
    expect({ ...b.body, requestId: undefined }).toEqual({ ...a.body, requestId: undefined });
    expect(JSON.stringify(a.body)).not.toMatch(/hostname|\/etc/);
  });
});
