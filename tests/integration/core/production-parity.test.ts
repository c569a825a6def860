/**
 * Quota parity: validating a package for a sandbox tenant also says whether it would fit the
 * tenant's production counterpart (sandbox_limits.yaml `production`, default the `default`
 * tenant), naming each limit it would break — through the API, `px-plugin validate --tenant`,
 * and the tenant usage the Admin shows side by side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  coreFixtures,
  makeTmp,
  packFixtures,
  repoRoot,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';

const run = promisify(execFile);
let core: TestCore;
let tmp: string;
let pkgs: Record<string, string>;

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore({ limitsFile: join(coreFixtures, 'parity_limits.yaml'), processMetrics: false });
  expect((await core.api.post('/api/tenants', { id: 'sandbox-eu', kind: 'sandbox' })).status).toBe(201);
});
afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: tmp,
    NO_COLOR: '1',
    PX_API_URL: core.url,
    PX_TOKEN: core.adminToken,
  };
  try {
    const r = await run(process.execPath, [join(repoRoot, 'packages/cli/src/main.ts'), ...args], { env });
    return { code: 0, stdout: r.stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('production parity in the validation report', () => {
  it('the API: fits sandbox, would not fit default: maxMemoryMb — a warning, the report still passes', async () => {
    const r = await core.api.validate(pkgs.hello, 'sandbox-dev');
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    expect(r.body.production).toMatchObject({
      sandbox: 'sandbox-dev',
      tenant: 'default',
      fitsSandbox: true,
      fits: false,
      exceeded: [{ limit: 'maxMemoryMb', needed: 64, allowed: 32 }],
      summary: 'fits sandbox, would not fit default: maxMemoryMb',
    });
    const check = r.body.checks.find((c: { id: string }) => c.id === 'production.parity');
    expect(check).toMatchObject({ ok: false, warning: true, code: 'PRODUCTION_QUOTA_MISMATCH' });
    expect(check.message).toContain('fits sandbox, would not fit default: maxMemoryMb');
    expect(check.message).toContain('needs 64, default allows 32');
  });

  it('follows the pairing of sandbox_limits.yaml and names every limit broken there', async () => {
    const r = await core.api.validate(pkgs.hello, 'sandbox-eu');
    expect(r.body.production.tenant).toBe('prod-eu');
    expect(r.body.production.exceeded.map((e: { limit: string }) => e.limit)).toEqual([
      'maxMemoryMb',
      'maxPlugins',
    ]);
    expect(r.body.production.summary).toBe('fits sandbox, would not fit prod-eu: maxMemoryMb, maxPlugins');
  });

  it('px-plugin validate --tenant prints the same verdict and exits 0', async () => {
    const r = await cli(['validate', pkgs.hello, '--tenant', 'sandbox-dev']);
    expect(r.stdout).toContain('fits sandbox, would not fit default: maxMemoryMb');
    expect(r.stdout).toContain('PRODUCTION_QUOTA_MISMATCH');
    expect(r.code).toBe(0);
    const json = await cli(['validate', pkgs.hello, '--tenant', 'sandbox-dev', '--json']);
    expect(JSON.parse(json.stdout).production.summary).toBe(
      'fits sandbox, would not fit default: maxMemoryMb',
    );
  });

  it('the tenant usage carries the production limits beside the sandbox ones', async () => {
    const r = await core.api.get('/api/tenants/sandbox-dev/usage');
    expect(r.body.limits.maxMemoryMb).toBe(2048);
    expect(r.body.production).toEqual({
      tenant: 'default',
      limits: expect.objectContaining({ maxMemoryMb: 32 }),
    });
  });
});
