/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * runtime.kind "process" plugins get a network namespace but no file-system sandbox, so a tenant
 * accepts them only when sandbox_limits.yaml says `allowProcessPlugins: true` for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import {
  coreFixtures,
  makeTmp,
  repoRoot,
  startTestCore,
  stopTestCore,
  testKeys,
  type TestCore,
} from '../../support/core-kit.ts';

// The runtime's own process-kind fixture: one copy of that plugin in the repository.
const PROCESS_FIXTURE = join(repoRoot, 'packages/runtime/fixtures/plugins/process-hello');
const PROCESS_ID = 'com.fixture.process-hello';
let core: TestCore;
let pkgs: Record<string, string>;
let tmp: string;

beforeAll(async () => {
  tmp = await makeTmp();
  const { privateKeyPem } = await testKeys();
  pkgs = {
    'process-hello': (await packDirectory(PROCESS_FIXTURE, join(tmp, 'process-hello.pxp'), { privateKeyPem }))
      .file,
  };
  core = await startTestCore({ limitsFile: join(coreFixtures, 'process_plugins_limits.yaml') });
  expect((await core.api.post('/api/tenants', { id: 'trusted-proc', kind: 'sandbox' })).status).toBe(201);
});

afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('the runtime kind policy', () => {
  it('refuses a process-kind plugin in a tenant that does not allow it, with the code and a hint, and installs nothing', async () => {
    const res = await core.api.install(pkgs['process-hello'], { tenant: 'sandbox-dev' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      code: 'RUNTIME_KIND_NOT_ALLOWED',
      hint: expect.stringContaining('allowProcessPlugins'),
    });
    const plugins = await core.api.get('/api/tenants/sandbox-dev/plugins');
    expect(plugins.body.plugins.map((p: any) => p.pluginId)).not.toContain(PROCESS_ID);
  });

  it('reports the refusal in the dry-run validation as a failed check', async () => {
    const form = new FormData();
    form.append('tenant', 'sandbox-dev');
    const { openAsBlob } = await import('node:fs');
    form.append('package', await openAsBlob(pkgs['process-hello']), 'p.pxp');
    const r = await fetch(`${core.url}/internal/plugins/packages/validate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${core.adminToken}` },
      body: form,
    });
    const body: any = await r.json();
    const check = body.checks.find((c: any) => c.id === 'tenant.runtime_kind');
    expect(check).toMatchObject({ ok: false, code: 'RUNTIME_KIND_NOT_ALLOWED' });
  });

  it('installs and serves it in a tenant that allows process plugins', async () => {
    const res = await core.api.install(pkgs['process-hello'], { tenant: 'trusted-proc' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.state).toBe('running');
    const answer = await fetch(`${core.entryUrl('trusted-proc', PROCESS_ID)}hello`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ hello: 'hi' });
  });
});
