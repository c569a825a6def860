/**
 * A hostile plugin tries to carry the secret the operator gave it out through the failure core
 * reports: at start it writes API_KEY to stderr and throws with it in the message (fixture
 * hello-secret-leak). The install fails with START_FAILED, and neither the install's error (API),
 * nor any audit entry, holds the secret: the runtime masks it in the detail it takes from the
 * plugin's own output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTmp, packFixtures, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

const SECRET = 'px-leak-canary-7f3a91c2';

let core: TestCore;
let tmp: string;
let pkgs: Record<string, string>;

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore();
});

afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('a plugin that puts its secret in its start failure', () => {
  it('fails with START_FAILED, and the error and the audit show the secret masked, never in clear', async () => {
    const r = await core.api.install(pkgs['hello-secret-leak'], { config: { secrets: { API_KEY: SECRET } } });
    expect(r.body.code, JSON.stringify(r.body)).toBe('START_FAILED');
    // The plugin's words are kept (they help its author), with the secret masked.
    expect(r.body.message).toContain('the key is [secret]');
    expect(JSON.stringify(r.body)).not.toContain(SECRET);
    const install = (await core.api.get(`/api/installs/${r.body.details.installId}`)).body;
    expect(install).toMatchObject({ state: 'failed', error: { code: 'START_FAILED' } });
    expect(JSON.stringify(install)).not.toContain(SECRET);
    const audit = (await core.api.get('/api/audit?limit=1000')).body.entries;
    expect(audit.some((e: { action: string }) => e.action === 'plugin.install.rolled_back')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });
});
