/**
 * `px-plugin install` prints the stages of an install live from the channel
 * plugin.install.progress of /api/ws — not by polling the install — and falls back to polling
 * where no WebSocket gets through. A proxy in front of a real core counts what the CLI asks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  makeTmp,
  packFixtures,
  repoRoot,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';
import { countingProxy, type CountingProxy } from './counting-proxy.ts';
import { INSTALL_STAGES } from '@powerx/protocol';
import { SETTLED_CHECK_MS } from '../../../packages/cli/src/commands/install.ts';

const exec = promisify(execFile);
/** Every stage of an install that goes through, in order (protocol's list). */
const PIPELINE: readonly string[] = INSTALL_STAGES;

let core: TestCore;
let tmp: string;
let pkgs: Record<string, string>;
const proxies: CountingProxy[] = [];

async function install(
  proxy: CountingProxy,
  pkg: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const r = await run(proxy, pkg, args);
  return { ...r, ms: performance.now() - started };
}

async function run(
  proxy: CountingProxy,
  pkg: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: tmp,
    NO_COLOR: '1',
    PX_API_URL: proxy.url,
    PX_TOKEN: core.adminToken,
  };
  const argv = [
    join(repoRoot, 'packages/cli/src/main.ts'),
    'install',
    pkg,
    '--tenant',
    'sandbox-dev',
    ...args,
  ];
  try {
    const r = await exec(process.execPath, argv, { env, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The stage names of the "  ✓ stage  12 ms" lines, in order. */
function stageLines(stdout: string): Array<[string, string]> {
  return [...stdout.matchAll(/^ {2}([✓✗]) (\S+)/gmu)].map((m) => [m[1], m[2]]);
}

const installPolls = (proxy: CountingProxy) =>
  proxy.requests.filter((r) => /^GET \/api\/installs\/[^/?]+$/.test(r));

/**
 * The reads of the install a live follow makes: the one at the end, and the safety net's every
 * SETTLED_CHECK_MS (a lost frame never hangs the CLI) while an install on a loaded machine takes
 * longer. Polling instead reads it every 100 ms.
 */
const liveReads = (ms: number) => 1 + Math.floor(ms / SETTLED_CHECK_MS);

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore();
}, 60_000);
afterAll(async () => {
  for (const p of proxies) await p.close();
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

describe('px-plugin install follows the stages live', { timeout: 120_000 }, () => {
  it('prints every stage in order from the live channel, reading the install only as a slow safety net', async () => {
    const proxy = await countingProxy(core.url);
    proxies.push(proxy);
    const r = await install(proxy, pkgs.hello, ['--env', 'TIMES=2', '--secret', 'API_KEY=live-cli-secret']);
    expect(r.code, r.stderr).toBe(0);
    expect(stageLines(r.stdout)).toEqual(PIPELINE.map((stage) => ['✓', stage]));
    expect(proxy.upgrades).toEqual(['/api/ws']);
    expect(installPolls(proxy).length).toBeLessThanOrEqual(liveReads(r.ms));
    expect(r.stdout).not.toContain('live-cli-secret');
  });

  it('prints a failed install live with its failed stage, then the code and hint', async () => {
    const proxy = await countingProxy(core.url);
    proxies.push(proxy);
    const r = await install(proxy, pkgs['hello-unhealthy']);
    expect(r.code).not.toBe(0);
    const lines = stageLines(r.stdout);
    expect(lines).toContainEqual(['✗', 'health_check']);
    expect(lines.at(-1)).toEqual(['✗', 'failed']);
    expect(r.stderr).toMatch(/HEALTH_/);
    expect(installPolls(proxy).length).toBeLessThanOrEqual(liveReads(r.ms));
  });

  it('falls back to polling the install when no WebSocket gets through', async () => {
    const proxy = await countingProxy(core.url, { webSocket: false });
    proxies.push(proxy);
    const r = await install(proxy, pkgs['hello-v2']);
    expect(r.code, r.stderr).toBe(0);
    expect(stageLines(r.stdout)).toEqual(PIPELINE.map((stage) => ['✓', stage]));
    expect(proxy.upgrades).toEqual([]);
    expect(installPolls(proxy).length).toBeGreaterThanOrEqual(1);
  });
});
