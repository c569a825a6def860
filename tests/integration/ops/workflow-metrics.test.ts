/**
 * scripts/qa/workflow-metrics.mjs against the store of a real core after the scripted workload
 * (upload installs that succeed and fail, dev installs that serve and roll back), read while core
 * runs and again after it stopped, as a user runs it: a separate Node process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTmp, repoRoot, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';
import {
  packWorkload,
  runDevWorkload,
  runWorkload,
  type DevWorkloadResult,
  type WorkloadResult,
} from './ops-workload.ts';

// The workload's dev installs read builds under the temp folder: a dev root only when listed.
process.env.PX_DEV_ROOTS = tmpdir();

const run = promisify(execFile);
const script = join(repoRoot, 'scripts/qa/workflow-metrics.mjs');

async function metrics(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: Number(e.code ?? 1), stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let core: TestCore | undefined;
let tmp: string;
let dataDir: string;
let workload: WorkloadResult;
let dev: DevWorkloadResult;

beforeAll(async () => {
  tmp = await makeTmp('px-wfm-');
  const pkgs = await packWorkload(tmp);
  core = await startTestCore({
    limitsFile: join(import.meta.dirname, 'fixtures/ops_limits.yaml'),
    devMode: true,
  });
  dataDir = core.dataDir;
  workload = await runWorkload(core.api, pkgs);
  dev = await runDevWorkload(core.api, tmp);
}, 120_000);

afterAll(async () => {
  await stopTestCore(core); // close() is idempotent; also removes the core's temp folder
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('workflow-metrics.mjs', () => {
  it('reports flows, rollbacks by reason and top failure codes as JSON while core runs', async () => {
    const r = await metrics('--data-dir', dataDir, '--since', '1h', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.flows.upload).toMatchObject({
      installs: workload.succeeded + workload.failed,
      succeeded: workload.succeeded,
      failed: workload.failed,
      inFlight: 0,
    });
    expect(report.flows.upload.successRate).toBeCloseTo(
      workload.succeeded / (workload.succeeded + workload.failed),
      5,
    );
    expect(report.flows.upload.durationMs.count).toBe(workload.succeeded);
    expect(report.flows.upload.durationMs.p50).toBeGreaterThan(0);
    expect(report.flows.upload.durationMs.p95).toBeGreaterThanOrEqual(report.flows.upload.durationMs.p50);
    expect(report.flows.dev).toMatchObject({
      installs: dev.succeeded + dev.failed,
      succeeded: dev.succeeded,
      failed: dev.failed,
    });
    expect(report.flows.dev.durationMs.p50).toBeGreaterThan(0);
    expect(report.rollbacks).toEqual(
      expect.arrayContaining([
        {
          flow: 'upload',
          reason: 'validating',
          count: 4,
          codes: { PXP_KEY_UNTRUSTED: 3, CORE_INCOMPATIBLE: 1 },
        },
        { flow: 'upload', reason: 'health_check', count: 1, codes: { HEALTH_TIMEOUT: 1 } },
        { flow: 'dev', reason: 'health_check', count: 2, codes: { HEALTH_TIMEOUT: 2 } },
      ]),
    );
    expect(report.topFailureCodes[0]).toEqual({
      code: 'HEALTH_TIMEOUT',
      count: 3,
      flows: { upload: 1, dev: 2 },
    });
    expect(report.topFailureCodes[1]).toEqual({ code: 'PXP_KEY_UNTRUSTED', count: 3, flows: { upload: 3 } });
  });

  it('prints the text report from the store of a stopped core', async () => {
    await core!.close(); // the data dir stays until afterAll
    const r = await metrics('--data-dir', dataDir, '--since', '1h');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^flow\s+installs\s+succeeded\s+failed\s+success rate\s+p50 \(to running\)\s+p95 \(to running\)$/m,
    );
    expect(r.stdout).toMatch(
      new RegExp(
        `^upload\\s+${workload.succeeded + workload.failed}\\s+${workload.succeeded}\\s+${workload.failed}\\s+37\\.5 %\\s+\\d+\\.\\d\\d s`,
        'm',
      ),
    );
    expect(r.stdout).toMatch(/^dev\s+3\s+1\s+2\s+33\.3 %/m);
    expect(r.stdout).toContain('Rollbacks by reason');
    expect(r.stdout).toMatch(/^\s+upload\s+validating\s+4\s+PXP_KEY_UNTRUSTED×3, CORE_INCOMPATIBLE×1$/m);
    expect(r.stdout).toContain('Top failure codes');
  });

  it('counts nothing outside the window or outside the tenant asked for', async () => {
    const r = await metrics(
      '--data-dir',
      dataDir,
      '--since',
      '2000-01-01',
      '--until',
      '2000-01-02',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.flows.upload.installs).toBe(0);
    expect(report.flows.dev.installs).toBe(0);
    expect(report.rollbacks).toEqual([]);
    const otherTenant = JSON.parse(
      (await metrics('--data-dir', dataDir, '--since', '1h', '--tenant', 'default', '--json')).stdout,
    );
    expect(otherTenant.window.tenant).toBe('default');
    expect(otherTenant.flows.upload.installs).toBe(0);
  });

  it("runs under the system Node (older than 22.5, no node:sqlite) by re-executing with the repository's Node 26", async () => {
    // The README promises any Node >= 18 on the machine runs the script: `node scripts/qa/workflow-metrics.mjs`.
    const systemNode = (await run('which', ['-a', 'node']).catch(() => ({ stdout: '' }))).stdout
      .split('\n')
      .find((p) => p && !p.includes('node_modules'));
    expect(systemNode, 'a system node on PATH').toBeTruthy();
    const version = (await run(systemNode!, ['-p', 'process.versions.node'])).stdout.trim();
    const r = await run(systemNode!, [script, '--data-dir', dataDir, '--since', '1h', '--json']);
    expect(JSON.parse(r.stdout).flows.upload.installs, `system node ${version}`).toBe(
      workload.succeeded + workload.failed,
    );
    // And the root npm script, as the docs tell it.
    const viaNpm = await run(
      'npm',
      ['run', '-s', 'workflow-metrics', '--', '--data-dir', dataDir, '--since', '1h'],
      { cwd: repoRoot },
    );
    expect(viaNpm.stdout).toMatch(/^upload\s+\d+/m);
  });

  it('refuses a folder without a core store, and a bad --since, with exit code 2', async () => {
    const missing = await metrics('--data-dir', join(tmp, 'nowhere'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no core store at');
    const bad = await metrics('--data-dir', dataDir, '--since', 'yesterday-ish');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "yesterday-ish" is neither a duration');
  });
});
