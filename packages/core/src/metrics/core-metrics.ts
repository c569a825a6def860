/**
 * Prometheus metrics with the names of ARCHITECTURE.md. Each core has its own registry (tests run
 * several cores in one process); per-instance resource usage is read from the supervisor at scrape.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface UsageSource {
  list(): Array<{ tenant: string; pluginId: string; usage: { rssMb: number; cpuPercent: number; diskMb: number } }>;
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

  constructor(usage: () => UsageSource | undefined, withProcessMetrics = true) {
    const registers = [this.registry];
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'px_core_' });
    const buckets = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
    this.installDuration = new Histogram({ name: 'plugin_install_sandbox_duration_seconds', help: 'Upload to running (or failed) of sandbox installs', labelNames: ['result'], buckets, registers });
    this.installTotal = new Counter({ name: 'plugin_install_sandbox_total', help: 'Sandbox installs by result (success | failed)', labelNames: ['result'], registers });
    this.rollbackTotal = new Counter({ name: 'plugin_install_rollback_total', help: 'Installs rolled back, by the stage that failed', labelNames: ['stage'], registers });
    this.devInstallDuration = new Histogram({ name: 'plugin_dev_install_duration_seconds', help: 'Dev-mode installs and reloads', labelNames: ['result'], buckets, registers });
    this.devInstallTotal = new Counter({ name: 'plugin_dev_install_total', help: 'Dev-mode installs by result', labelNames: ['result'], registers });
    this.devRollbackTotal = new Counter({ name: 'plugin_dev_rollback_total', help: 'Dev-mode reloads rolled back', registers });
    this.stageDuration = new Histogram({ name: 'plugin_install_stage_duration_seconds', help: 'Duration of each install stage', labelNames: ['stage'], buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30], registers });
    this.signatureFailures = new Counter({ name: 'plugin_package_signature_failures_total', help: 'Uploads refused for a missing, invalid or untrusted signature', registers });
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
}
