/**
 * plugin_sandbox_quota_usage_ratio{tenant,resource}: what each tenant uses of its quota in
 * config/plugins/sandbox_limits.yaml, as a ratio (0.8 = 80 %), computed at scrape time from the
 * same rows the install-time quota check reads (installed plugins plus installs in flight).
 * resource is one of plugins | memory | disk | cpu | installs_per_minute.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../storage/schema.ts';
import type { SandboxLimits, TenantLimits } from '../limits/sandbox-limits.ts';
import { tenantUsage, type TenantUsage } from '../install/tenant-checks.ts';

const RESOURCES: Array<{
  resource: string;
  used: (u: TenantUsage) => number;
  limit: (l: TenantLimits) => number;
}> = [
  { resource: 'plugins', used: (u) => u.plugins, limit: (l) => l.maxPlugins },
  { resource: 'memory', used: (u) => u.memoryMb, limit: (l) => l.maxMemoryMb },
  { resource: 'disk', used: (u) => u.diskMb, limit: (l) => l.maxDiskMb },
  { resource: 'cpu', used: (u) => u.cpuPercent, limit: (l) => l.maxCpuPercent },
  { resource: 'installs_per_minute', used: (u) => u.installsLastMinute, limit: (l) => l.installsPerMinute },
];

/** used / limit; a zero limit counts as full once anything is used (nothing may be installed). */
export function usageRatio(used: number, limit: number): number {
  if (limit > 0) return used / limit;
  return used > 0 ? 1 : 0;
}

export function registerQuotaUsage(
  registry: Registry,
  source: { db: Db; limits: SandboxLimits },
): Gauge<'tenant' | 'resource'> {
  return new Gauge({
    name: 'plugin_sandbox_quota_usage_ratio',
    help: 'Share of each tenant quota in use (plugins, memory, disk, cpu, installs_per_minute); 1 = full',
    labelNames: ['tenant', 'resource'],
    registers: [registry],
    async collect() {
      const tenants = await source.db.selectFrom('tenants').select('id').execute();
      const rows: Array<{ tenant: string; resource: string; value: number }> = [];
      for (const { id } of tenants) {
        const usage = await tenantUsage(source.db, id);
        const limits = source.limits.forTenant(id);
        for (const r of RESOURCES)
          rows.push({ tenant: id, resource: r.resource, value: usageRatio(r.used(usage), r.limit(limits)) });
      }
      // Reset only once the new values are known: a scrape never sees a half-filled gauge.
      this.reset();
      for (const row of rows) this.set({ tenant: row.tenant, resource: row.resource }, row.value);
    },
  });
}
