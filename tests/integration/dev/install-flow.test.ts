/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * The persisted `flow` of an install (`upload` | `dev`, migration 0002-install-flow):
 *   (a) dev reloads do not count toward the uploads' installs-per-minute quota;
 *   (b) a dev install interrupted by a core crash is booked, after the restart, under the dev
 *       metrics, not the sandbox upload ones;
 *   (c) scripts/qa/workflow-metrics.mjs counts it as dev from the column (no audit entry names it);
 *   (d) the install API body shows the flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  Api,
  coreFixtures,
  makeTmp,
  packFixtures,
  repoRoot,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';
import { DEV_ID, devInstall, newSandbox, project, setMessage, startDevCore, until } from './dev-kit.ts';
// @ts-expect-error -- a plain .mjs script without type declarations
import { workflowMetrics } from '../../../scripts/qa/workflow-metrics.mjs';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '200';

let tmp: string;
let pkgs: Record<string, string>;
beforeAll(async () => {
  tmp = await makeTmp('pxflow-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function metricValue(text: string, name: string, labels = ''): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('install flow: upload quota and API', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startDevCore({ limitsFile: join(coreFixtures, 'tight_limits.yaml') });
    await newSandbox(core.api, 'q-rate'); // installsPerMinute: 1
  });
  afterAll(async () => {
    await stopTestCore(core);
  });

  it('dev reloads do not use up the installs-per-minute quota of uploads, and the install body names its flow', async () => {
    const dir = await project(core, 'dev-hello');
    const first = await devInstall(core.api, { tenant: 'q-rate', path: dir });
    expect(first.body.result).toBe('running');
    await setMessage(dir, 'two');
    expect((await devInstall(core.api, { tenant: 'q-rate', path: dir })).body.result).toBe('running');
    await setMessage(dir, 'three');
    expect((await devInstall(core.api, { tenant: 'q-rate', path: dir })).body.result).toBe('running');
    // Three dev installs within the minute; the one upload the quota allows still goes through …
    const upload = await core.api.install(pkgs.hello, {
      tenant: 'q-rate',
      config: { secrets: { API_KEY: 'k' } },
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(200);
    expect(upload.body.flow).toBe('upload');
    // … and a second upload is refused: uploads are still counted.
    const second = await core.api.install(pkgs.hello, {
      tenant: 'q-rate',
      config: { secrets: { API_KEY: 'k' } },
    });
    expect(second.body.code).toBe('QUOTA_EXCEEDED');
    const dev = await core.api.get(`/api/installs/${first.body.installId}`);
    expect(dev.body.flow).toBe('dev');
    const list = await core.api.get(`/api/installs?tenant=q-rate&plugin=${DEV_ID}`);
    expect(list.body.installs.every((i: any) => i.flow === 'dev')).toBe(true);
    // Usage (what the quota alert reads) counts the one upload only.
    const usage = await core.api.get('/api/tenants/q-rate/usage');
    expect(usage.body.installsLastMinute).toBe(1);
  });
});

describe('a dev install interrupted by a core crash', () => {
  let child: ChildProcess | undefined;
  let core: TestCore | undefined;
  afterAll(async () => {
    child?.kill('SIGKILL');
    await stopTestCore(core);
  });

  it('is rolled back at the next start and booked under the dev metrics and the dev flow of workflow-metrics', async () => {
    const home = join(tmp, 'crash');
    const dataDir = join(home, 'data');
    // A real core process in dev mode, killed with SIGKILL while the dev install waits on the health gate.
    const proc = spawn(process.execPath, [join(repoRoot, 'packages/core/src/main.ts')], {
      env: {
        ...process.env,
        PX_DATA_DIR: dataDir,
        PX_PORT: '0',
        PX_PLUGIN_DEV_MODE: '1',
        PX_DEV_ROOTS: tmpdir(),
        PX_LOG_LEVEL: 'warn',
        HOME: home,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      proc.once('exit', (code) => reject(new Error(`core exited with ${code}: ${out}`)));
    });
    const api = new Api(url, (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim());
    // The longest health bound: the install stays at the gate (its route never answers 2xx) until
    // the kill. The fixture's 800 ms, start included, ran out before the gate on a loaded machine.
    const path = await project({ tmp: home }, 'dev-never-healthy', 60_000);
    void devInstall(api, { tenant: 'sandbox-dev', path }).catch(() => undefined);
    const inFlight = await until(() => api.get(`/api/installs?tenant=sandbox-dev&plugin=${DEV_ID}`), {
      ok: (r) => r.body?.installs?.some((i: any) => i.state === 'health_check'),
      message: 'dev install at the health gate',
    });
    const installId = inFlight.body.installs.find((i: any) => i.state === 'health_check').id;
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));
    child = undefined;

    core = await startTestCore({ tmp: home, devMode: true, processMetrics: false });
    expect(core.recovery.rolledBack).toBe(1);
    const row = await core.api.get(`/api/installs/${installId}`);
    expect(row.body).toMatchObject({ flow: 'dev', state: 'failed', error: { code: 'INSTALL_INTERRUPTED' } });
    const metrics = await (await fetch(`${core.url}/metrics`)).text();
    expect(metricValue(metrics, 'plugin_dev_install_total', '{result="failed"}')).toBe(1);
    expect(metricValue(metrics, 'plugin_dev_rollback_total')).toBe(1);
    expect(metricValue(metrics, 'plugin_install_sandbox_total', '{result="failed"}')).toBe(0);

    // No dev audit entry names this install (core died before writing one): the column tells.
    const report = workflowMetrics({ dataDir, since: new Date(Date.now() - 3_600_000) });
    expect(report.flows.dev).toMatchObject({ installs: 1, succeeded: 0, failed: 1 });
    expect(report.flows.upload).toMatchObject({ installs: 0, inFlight: 0 });
    expect(report.rollbacks).toEqual(
      expect.arrayContaining([expect.objectContaining({ flow: 'dev', codes: { INSTALL_INTERRUPTED: 1 } })]),
    );
  });
});
