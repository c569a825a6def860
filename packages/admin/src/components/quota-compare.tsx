/**
 * The sandbox tenant's quotas beside its production counterpart's (sandbox_limits.yaml), so a
 * gap shows while developing rather than at release. Differing limits are marked.
 */
import type { TenantUsage } from '@powerx/protocol';

const LIMITS: Array<[keyof TenantUsage['limits'], string]> = [
  ['maxPlugins', 'Plugins'],
  ['maxMemoryMb', 'Memory (MB)'],
  ['maxCpuPercent', 'CPU (%)'],
  ['maxDiskMb', 'Disk (MB)'],
  ['maxPackageMb', 'Package size (MB)'],
  ['installsPerMinute', 'Installs per minute'],
];

export function QuotaCompare({ usage }: { usage: TenantUsage }) {
  const production = usage.production;
  if (!production) return null;
  return (
    <section className="card" aria-labelledby="quota-compare-title" data-quota-compare>
      <h2 id="quota-compare-title">Sandbox and production limits</h2>
      <div className="table-wrap">
        <table className="quota-compare">
          <thead>
            <tr>
              <th scope="col">Limit (sandbox_limits.yaml)</th>
              <th scope="col">{usage.tenant} (sandbox)</th>
              <th scope="col">{production.tenant} (production)</th>
            </tr>
          </thead>
          <tbody>
            {LIMITS.map(([field, label]) => {
              const differs = usage.limits[field] !== production.limits[field];
              return (
                <tr key={field} data-limit={field}>
                  <th scope="row">
                    {label} <code>{field}</code>
                  </th>
                  <td>{usage.limits[field]}</td>
                  <td className={differs ? 'differs' : undefined} data-differs={differs || undefined}>
                    {production.limits[field]}
                    {differs ? ' ≠' : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
