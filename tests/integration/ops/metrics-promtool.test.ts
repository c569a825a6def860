/**
 * `/metrics` as Prometheus' own linter sees it: `promtool check metrics` on a live scrape of a core
 * with process metrics on and an install behind it (so the install series exist) reports nothing.
 * promtool comes with Debian's `prometheus` package (.ci/run installs it).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTmp, packFixtures, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

let core: TestCore;
let pkgs: Record<string, string>;

beforeAll(async () => {
  const tmp = await makeTmp('px-promtool-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore({ tmp, processMetrics: true });
});
afterAll(async () => {
  await stopTestCore(core);
});

function promtoolCheck(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', (error) =>
      reject(
        new Error('promtool is not installed: apt-get install -y prometheus (see .ci/run)', { cause: error }),
      ),
    );
    child.once('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

describe('/metrics', () => {
  it('passes promtool check metrics with no complaint', async () => {
    const installed = await core.api.install(pkgs.hello, { config: { secrets: { API_KEY: 'k' } } });
    expect(installed.body.state).toBe('running');
    const text = await (await fetch(`${core.url}/metrics`)).text();
    expect(text).toContain('plugin_install_sandbox_total');
    expect(text).toContain('px_core_nodejs_active_handles');
    const checked = await promtoolCheck(text);
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);
  });
});
