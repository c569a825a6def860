/**
 * The operations metrics the alert rules and the dashboard read, beyond the install counters of
 * core-metrics.ts: quota usage ratios per tenant, log throughput (core's own lines and plugin
 * lines), attached once core's stores exist. Labels stay bounded: tenant, resource, level.
 */
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../storage/schema.ts';
import type { SandboxLimits } from '../limits/sandbox-limits.ts';
import type { LogLineCounts } from '../logging/core-logger.ts';
import { registerQuotaUsage } from './quota-usage.ts';
import type { ConsecutiveFailures } from './consecutive-failures.ts';

export interface OpsMetricSources {
  db: Db;
  limits: SandboxLimits;
  /** Core's own log lines by level (from createCoreLogger). */
  coreLogLines?: LogLineCounts;
  /** The plugin log feed (PluginLogStore.onLine). */
  pluginLogs?: { onLine(listener: (line: { level: string }) => void): () => void };
  /** Streak gauges that get a 0 series for every tenant. */
  streaks?: ConsecutiveFailures[];
}

const PLUGIN_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

export function registerOpsMetrics(registry: Registry, sources: OpsMetricSources): { close(): void } {
  const tenants = async () =>
    (await sources.db.selectFrom('tenants').select('id').execute()).map((t) => t.id);
  for (const streak of sources.streaks ?? []) streak.setKnownTenants(tenants);
  registerQuotaUsage(registry, sources);
  const coreLines = sources.coreLogLines;
  new Counter({
    name: 'px_core_log_lines_total',
    help: "Lines written by core's own logger, by level",
    labelNames: ['level'],
    registers: [registry],
    collect() {
      this.reset();
      // info/warn/error always have a series (0 while the logger is silent).
      for (const level of ['info', 'warn', 'error']) this.inc({ level }, 0);
      for (const [level, n] of coreLines?.byLevel ?? []) this.inc({ level }, n);
    },
  });
  const pluginLines = new Counter({
    name: 'plugin_log_lines_total',
    help: 'Lines plugins wrote to the log feed (stdout, stderr, ctx.log), by level',
    labelNames: ['level'],
    registers: [registry],
  });
  for (const level of ['info', 'warn', 'error']) pluginLines.inc({ level }, 0);
  const off = sources.pluginLogs?.onLine((line) =>
    pluginLines.inc({ level: PLUGIN_LEVELS.has(line.level) ? line.level : 'other' }),
  );
  return { close: () => off?.() };
}
