/**
 * The shipped dashboard and alert rules against a real Prometheus (Debian package) scraping a
 * real core every second on loopback, after a scripted workload through core's HTTP API: every
 * dashboard query and alert expression evaluates without error, the panels show the workload,
 * and the alerts the workload should trip are pending or firing in Prometheus itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeTmp, repoRoot, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';
import { RUNBOOK_BASE, eventually, startPrometheus, type PromServer } from './prometheus-kit.ts';
import {
  packWorkload,
  runDevWorkload,
  runWorkload,
  type DevWorkloadResult,
  type WorkloadResult,
} from './ops-workload.ts';

// The workload's dev installs read builds under the temp folder: a dev root only when listed.
process.env.PX_DEV_ROOTS = tmpdir();

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string; refId: string }>;
}

const dashboardFile = join(repoRoot, 'deploy/grafana/plugin-sandbox.json');
const alertsFile = join(repoRoot, 'deploy/prometheus/alerts.yml');

/** Grafana variables as the dashboard would fill them: the whole test run fits in the 5m window. */
function expand(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$tenant', '.*');
}

let core: TestCore;
let prom: PromServer;
let tmp: string;
let workload: WorkloadResult;
let devWorkload: DevWorkloadResult;

beforeAll(async () => {
  tmp = await makeTmp('px-ops-');
  const pkgs = await packWorkload(tmp);
  core = await startTestCore({
    limitsFile: join(import.meta.dirname, 'fixtures/ops_limits.yaml'),
    processMetrics: true,
    devMode: true,
  });
  prom = await startPrometheus({ targets: [new URL(core.url).host], ruleFiles: [alertsFile] });
  await prom.waitForScrapes('powerx-core', 2);
  workload = await runWorkload(core.api, pkgs);
  devWorkload = await runDevWorkload(core.api, tmp);
  // Prometheus has seen the whole workload once its counters match what the workload did (a dev
  // install that serves is counted when its grace window ends or a newer build cuts it short).
  await eventually('Prometheus to scrape the workload', async () => {
    const failed = await prom.query('sum(plugin_install_sandbox_total{result="failed"})');
    const dev = await prom.query('sum(plugin_dev_install_total)');
    return Number(failed[0]?.value[1]) === workload.failed &&
      Number(dev[0]?.value[1]) === devWorkload.succeeded + devWorkload.failed
      ? true
      : undefined;
  });
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  await stopTestCore(core);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the dashboard against a real Prometheus', () => {
  it('is titled "Runtime Ops / Plugin Sandbox" and has the panels the issue names', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as { title: string; panels: Panel[] };
    expect(dashboard.title).toBe('Runtime Ops / Plugin Sandbox');
    const titles = dashboard.panels.map((p) => p.title);
    for (const wanted of [
      'Install duration p50 / p95',
      'Install success rate',
      'Rollbacks by failing stage',
      'Dev installs and reloads',
      'Dev reload latency p50 / p95',
      'Quota usage per tenant',
      'Instance memory (RSS)',
      'Log throughput',
    ]) {
      expect(titles).toContain(wanted);
    }
  });

  it('every panel query evaluates without error and returns data', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as { panels: Panel[] };
    const empty: string[] = [];
    let queries = 0;
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        queries++;
        const result = await prom.query(expand(target.expr)); // throws on any PromQL error
        if (!result.length) empty.push(`${panel.title} [${target.refId}]: ${target.expr}`);
      }
    }
    expect(queries).toBeGreaterThan(15);
    expect(empty).toEqual([]);
  });

  it('the panels show the scripted workload', async () => {
    const value = async (expr: string) => Number((await prom.query(expand(expr)))[0]?.value[1]);
    const byLabel = async (expr: string, label: string) =>
      Object.fromEntries((await prom.query(expand(expr))).map((s) => [s.metric[label], Number(s.value[1])]));

    // Install duration p50/p95: real, positive seconds.
    const p50 = await value(
      'histogram_quantile(0.5, sum by (le) (rate(plugin_install_sandbox_duration_seconds_bucket[$__rate_interval])))',
    );
    const p95 = await value(
      'histogram_quantile(0.95, sum by (le) (rate(plugin_install_sandbox_duration_seconds_bucket[$__rate_interval])))',
    );
    expect(p50).toBeGreaterThan(0);
    expect(p95).toBeGreaterThanOrEqual(p50);
    // Success rate: 3 of 8 uploads succeeded.
    const rate = await value(
      'sum(rate(plugin_install_sandbox_total{result="success"}[$__rate_interval])) / sum(rate(plugin_install_sandbox_total[$__rate_interval]))',
    );
    expect(rate).toBeCloseTo(workload.succeeded / (workload.succeeded + workload.failed), 5);
    // Counters as scraped equal what the workload did.
    expect(await byLabel('sum by (result) (plugin_install_sandbox_total)', 'result')).toEqual({
      success: workload.succeeded,
      failed: workload.failed,
    });
    // Rollbacks by stage: the health gate failure and the validation refusals.
    const rollbacks = await byLabel('sum by (stage) (plugin_install_rollback_total)', 'stage');
    expect(rollbacks.health_check).toBe(1);
    expect(rollbacks.validating).toBe(workload.failed - 1);
    // Stage durations exist for every stage the installs went through.
    const stages = await byLabel('sum by (stage) (plugin_install_stage_duration_seconds_count)', 'stage');
    expect(Object.keys(stages)).toEqual(
      expect.arrayContaining([
        'received',
        'validating',
        'awaiting_config',
        'provisioning',
        'starting',
        'health_check',
        'seeding',
      ]),
    );
    // Dev installs and reloads: one served, two rolled back in a row.
    expect(await byLabel('sum by (result) (plugin_dev_install_total)', 'result')).toEqual({
      success: devWorkload.succeeded,
      failed: devWorkload.failed,
    });
    expect(
      await value(
        'histogram_quantile(0.5, sum by (le) (rate(plugin_dev_install_duration_seconds_bucket[$__rate_interval])))',
      ),
    ).toBeGreaterThan(0);
    expect(
      await value(
        'sum(rate(plugin_dev_install_total{result="success"}[$__rate_interval])) / sum(rate(plugin_dev_install_total[$__rate_interval]))',
      ),
    ).toBeCloseTo(1 / 3, 5);
    expect(await value('sum(plugin_dev_rollback_total)')).toBe(devWorkload.failed);
    expect(await value('max(plugin_dev_install_failures_consecutive{tenant="sandbox-dev"})')).toBe(2);
    // Quota usage: sandbox-dev holds 3 plugins of 3.
    expect(
      await value(
        'max by (tenant, resource) (plugin_sandbox_quota_usage_ratio{tenant="sandbox-dev", resource="plugins"})',
      ),
    ).toBe(1);
    // Instance resource usage: the two running plugins report memory.
    // (the supervisor samples every second: a just-started instance may need one more scrape)
    const rss = await eventually('every instance to report its memory', async () => {
      const series = await prom.query('plugin_sandbox_resource_usage{resource="rss_mb"}');
      return series.length === 3 && series.every((s) => Number(s.value[1]) > 0) ? series : undefined;
    });
    expect(rss.map((s) => s.metric.plugin).sort()).toEqual([
      'com.fixture.core.base',
      'com.fixture.core.hello',
      'com.fixture.ops.dev',
    ]);
    // Signature streak and counter.
    expect(await value('max(plugin_package_signature_failures_consecutive{tenant="sandbox-dev"})')).toBe(
      workload.signatureFailures,
    );
    expect(await value('sum(plugin_package_signature_failures_total)')).toBe(workload.signatureFailures);
    // Log throughput: the plugins wrote lines (core's own logger is silent in tests; core-logs.test.ts
    // counts its lines on a core run as users run it).
    expect(await value('sum(rate(plugin_log_lines_total[$__rate_interval]))')).toBeGreaterThan(0);
    expect(await value('sum(px_core_log_lines_total)')).toBeGreaterThanOrEqual(0);
    // Event loop of core.
    expect(await value('max(px_core_nodejs_eventloop_lag_p99_seconds)')).toBeGreaterThan(0);
  });
});

describe('the alert rules in a real Prometheus', () => {
  it('loads all five rules and evaluates each expression without error', async () => {
    const file = parse(await readFile(alertsFile, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'PluginDevInstallFailuresInARow',
      'PluginDevInstallSuccessRateLow',
      'PluginPackageSignatureFailuresInARow',
      'PluginSandboxInstallFailureRateHigh',
      'PluginSandboxQuotaUsageHigh',
    ]);
    for (const rule of rules) await prom.query(rule.expr);
    const loaded = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const health = loaded.data.groups
      .flatMap((g) => g.rules)
      .map((r) => `${r.name}:${r.health}${r.lastError ? ` ${r.lastError}` : ''}`);
    expect(health.sort()).toEqual(rules.map((r) => `${r.alert}:ok`).sort());
  });

  it('fires the signature and dev-streak alerts and has the rate and quota alerts pending after the workload', async () => {
    const alerts = await eventually('the alerts to be evaluated', async () => {
      const list = await prom.query('ALERTS');
      const names = new Set(list.map((a) => a.metric.alertname));
      return names.size === 5 ? list : undefined;
    });
    const state = (name: string) =>
      alerts
        .filter((a) => a.metric.alertname === name)
        .map((a) => ({ state: a.metric.alertstate, tenant: a.metric.tenant, resource: a.metric.resource }));
    expect(state('PluginPackageSignatureFailuresInARow')).toEqual([
      { state: 'firing', tenant: 'sandbox-dev', resource: undefined },
    ]);
    expect(state('PluginSandboxQuotaUsageHigh')).toEqual([
      { state: 'pending', tenant: 'sandbox-dev', resource: 'plugins' },
    ]);
    expect(state('PluginSandboxInstallFailureRateHigh')).toEqual([
      { state: 'pending', tenant: undefined, resource: undefined },
    ]);
    expect(state('PluginDevInstallFailuresInARow')).toEqual([
      { state: 'firing', tenant: 'sandbox-dev', resource: undefined },
    ]);
    expect(state('PluginDevInstallSuccessRateLow')).toEqual([
      { state: 'pending', tenant: undefined, resource: undefined },
    ]);
    // The runbook link is absolute, built from the external label runbook_base.
    const active = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as {
      data: { alerts: Array<{ labels: { alertname: string }; annotations: { runbook_url: string } }> };
    };
    expect(active.data.alerts.length).toBeGreaterThan(0);
    for (const a of active.data.alerts)
      expect(a.annotations.runbook_url, a.labels.alertname).toBe(
        `${RUNBOOK_BASE}/docs/operations.md#runbook-${a.labels.alertname.toLowerCase()}`,
      );
  });
});
