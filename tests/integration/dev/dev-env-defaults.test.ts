/**
 * Env values on a dev reload: a value the developer set explicitly (wizard / --env / reconfigure)
 * carries over; a value that only came from the manifest's default follows a changed default.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  DEV_ID,
  devInstall,
  hello,
  newSandbox,
  project,
  startDevCore,
  stopTestCore,
  type TestCore,
} from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '300';

let core: TestCore;
beforeAll(async () => {
  core = await startDevCore();
});
afterAll(async () => {
  await stopTestCore(core);
});

/** What editing plugin.yaml and rebuilding does: a new default for GREETING (and a new version). */
async function setDefault(dir: string, greeting: string, version: string): Promise<void> {
  const file = join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8'));
  manifest.version = version;
  manifest.config.env[0].default = greeting;
  await writeFile(file, JSON.stringify(manifest, null, 2));
}

async function greeting(tenant: string): Promise<string> {
  const r = await hello(core, tenant);
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { greeting: string }).greeting;
}

describe('env defaults on a dev reload', () => {
  it('a value that only came from a default follows the changed default in plugin.yaml', async () => {
    const tenant = await newSandbox(core.api, 'env-default');
    const dir = await project(core, 'dev-hello');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    expect(await greeting(tenant)).toBe('hello');
    await setDefault(dir, 'bonjour', '0.1.1');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    expect(await greeting(tenant)).toBe('bonjour');
  });

  it('a value the developer set explicitly carries over, whatever the default becomes', async () => {
    const tenant = await newSandbox(core.api, 'env-explicit');
    const dir = await project(core, 'dev-hello');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    const set = await core.api.put(`/api/tenants/${tenant}/plugins/${DEV_ID}/config?wait=true`, {
      env: { GREETING: 'howdy' },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(await greeting(tenant)).toBe('howdy');
    await setDefault(dir, 'hola', '0.1.1');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    expect(await greeting(tenant)).toBe('howdy');
    // Still explicit on the reload after.
    await setDefault(dir, 'ciao', '0.1.2');
    expect((await devInstall(core.api, { tenant, path: dir })).body.result).toBe('running');
    expect(await greeting(tenant)).toBe('howdy');
  });
});
