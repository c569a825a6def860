/**
 * Prometheus metrics with the names of docs/architecture.md. Each core has its own registry (tests run
 * several cores in one process); per-instance resource usage is read from the supervisor at scrape.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ConsecutiveFailures } from './consecutive-failures.ts';
import { registerOpsMetrics, type OpsMetricSources } from './ops-metrics.ts';
import { signatureOutcome } from './signature-outcome.ts';

export interface UsageSource {
  list(): Array<{
    tenant: string;
    pluginId: string;
    usage: { rssMb: number; cpuPercent: number; diskMb: number };
  }>;
}

export class CoreMetrics {
  readonly registry = new Registry();
  readonly installDuration: Histogram<'result'>;
  readonly installTotal: Counter<'result'>;
  readonly rollbackTotal: Counter<'stage'>;
  readonly devInstallDuration: Histogram<'result'>;
  readonly devInstallTotal: Counter<'result'>;
  readonly devRollbackTotal: Counter;
  readonly stageDuration: Histogram<'stage'>;
  readonly signatureFailures: Counter;
  /** Signature failures in a row per tenant; a package with a good signature resets it. */
  readonly signatureFailureStreak: ConsecutiveFailures;
  /** Dev installs/reloads failed in a row per tenant; a successful one resets it. */
  readonly devInstallFailureStreak: ConsecutiveFailures;
  #ops: { close(): void } | undefined;

  constructor(usage: () => UsageSource | undefined, withProcessMetrics = true) {
    const registers = [this.registry];
    if (withProcessMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: 'px_core_' });
      dropTotalGauges(this.registry);
    }
    const buckets = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
    this.installDuration = new Histogram({
      name: 'plugin_install_sandbox_duration_seconds',
      help: 'Upload to running (or failed) of sandbox installs',
      labelNames: ['result'],
      buckets,
      registers,
    });
    this.installTotal = new Counter({
      name: 'plugin_install_sandbox_total',
      help: 'Sandbox installs by result (success | failed)',
      labelNames: ['result'],
      registers,
    });
    this.rollbackTotal = new Counter({
      name: 'plugin_install_rollback_total',
      help: 'Installs rolled back, by the stage that failed',
      labelNames: ['stage'],
      registers,
    });
    this.devInstallDuration = new Histogram({
      name: 'plugin_dev_install_duration_seconds',
      help: 'Dev-mode installs and reloads',
      labelNames: ['result'],
      buckets,
      registers,
    });
    this.devInstallTotal = new Counter({
      name: 'plugin_dev_install_total',
      help: 'Dev-mode installs by result',
      labelNames: ['result'],
      registers,
    });
    this.devRollbackTotal = new Counter({
      name: 'plugin_dev_rollback_total',
      help: 'Dev-mode reloads rolled back',
      registers,
    });
    this.stageDuration = new Histogram({
      name: 'plugin_install_stage_duration_seconds',
      help: 'Duration of each install stage',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    });
    this.signatureFailures = new Counter({
      name: 'plugin_package_signature_failures_total',
      help: 'Uploads refused for a missing, invalid or untrusted signature',
      registers,
    });
    this.signatureFailureStreak = new ConsecutiveFailures(
      'plugin_package_signature_failures_consecutive',
      'Uploads refused for their signature in a row, per tenant (reset by a good signature)',
      this.registry,
    );
    this.devInstallFailureStreak = new ConsecutiveFailures(
      'plugin_dev_install_failures_consecutive',
      'Dev installs/reloads failed in a row, per tenant (reset by a successful one)',
      this.registry,
    );
    // Known label values start at 0, so rates and ratios exist before the first install.
    for (const result of ['success', 'failed']) {
      this.installTotal.inc({ result }, 0);
      this.devInstallTotal.inc({ result }, 0);
      this.installDuration.zero({ result });
      this.devInstallDuration.zero({ result });
    }
    this.devRollbackTotal.inc(0);
    this.signatureFailures.inc(0);
    new Gauge({
      name: 'plugin_sandbox_resource_usage',
      help: 'Resource usage per plugin instance (rss_mb, cpu_percent, disk_mb)',
      labelNames: ['tenant', 'plugin', 'resource'],
      registers,
      collect() {
        this.reset();
        for (const instance of usage()?.list() ?? []) {
          const labels = { tenant: instance.tenant, plugin: instance.pluginId };
          this.set({ ...labels, resource: 'rss_mb' }, instance.usage.rssMb);
          this.set({ ...labels, resource: 'cpu_percent' }, instance.usage.cpuPercent);
          this.set({ ...labels, resource: 'disk_mb' }, instance.usage.diskMb);
        }
      },
    });
  }

  /** Quota ratios and log throughput need core's stores; startCore attaches them once built. */
  attachOps(sources: OpsMetricSources): void {
    this.#ops ??= registerOpsMetrics(this.registry, {
      streaks: [this.signatureFailureStreak, this.devInstallFailureStreak],
      ...sources,
    });
  }

  /**
   * After an upload's validation: a missing, invalid or untrusted signature adds to the tenant's
   * streak; a valid, trusted signature resets the streak; an unsigned package
   * accepted in dev mode, or one refused before its signature was looked at, changes nothing.
   */
  recordSignatureOutcome(
    tenant: string,
    report: { checks: ReadonlyArray<{ id: string; ok: boolean; code?: string }>; signer?: unknown },
  ): void {
    const outcome = signatureOutcome(report);
    if (outcome === 'good') this.signatureFailureStreak.succeeded(tenant);
    // (plugin_package_signature_failures_total is counted by the pipeline where it refuses the upload.)
    else if (outcome === 'bad') this.signatureFailureStreak.failed(tenant);
  }

  /** The one call dev mode makes per finished dev install or reload. */
  recordDevInstall(tenant: string, ok: boolean, seconds: number, rolledBack = false): void {
    const result = ok ? 'success' : 'failed';
    this.devInstallTotal.inc({ result });
    this.devInstallDuration.observe({ result }, seconds);
    if (rolledBack) this.devRollbackTotal.inc();
    if (ok) this.devInstallFailureStreak.succeeded(tenant);
    else this.devInstallFailureStreak.failed(tenant);
  }

  close(): void {
    this.#ops?.close();
  }
}

/**
 * prom-client's default metrics include three gauges named *_total (nodejs_active_handles_total,
 * _requests_total, _resources_total), a suffix Prometheus reserves for counters: `promtool check
 * metrics` refuses them. Their per-type gauges (nodejs_active_handles{type}, …) stay and sum to
 * the same number.
 */
function dropTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray())
    if (metric instanceof Gauge && (metric as unknown as { name: string }).name.endsWith('_total'))
      registry.removeSingleMetric((metric as unknown as { name: string }).name);
}
