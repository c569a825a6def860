/** The dev policy core applies right now (GET /api/plugins/dev/policy), as a table an operator can read. */
import type { EffectiveDevPolicy } from '@powerx/protocol';

export function DevPolicyCard({ policy, tenant }: { policy: EffectiveDevPolicy; tenant: string }) {
  const unsigned = policy.unsignedDevBuilds.tenants[tenant] ?? policy.unsignedDevBuilds.default;
  const rows: Array<[string, string, string]> = [
    ['devMode', 'Dev mode', policy.devMode ? 'on' : 'off'],
    [
      'access',
      'Who may dev-install',
      `permission ${policy.access.permission}, member roles ${policy.access.roles.join(', ')}, tenants ${policy.access.tenants.join(', ')}`,
    ],
    [
      'roots',
      'Path installs from',
      policy.roots.length ? policy.roots.join(', ') : "none (builds are uploaded); never core's data folder",
    ],
    ['unsignedDevBuilds', `Unsigned dev builds in ${tenant}`, unsigned ? 'allowed' : 'refused'],
    [
      'sessions',
      'Sessions',
      `expire ${policy.sessions.idleTimeoutSeconds} s without heartbeat · at most ${policy.sessions.maxPerUser} per user`,
    ],
    [
      'retention',
      'Kept',
      `plugin logs ${policy.retention.logDays} days · dev audit details ${policy.retention.devAuditDays} days`,
    ],
  ];
  return (
    <section className="card" aria-labelledby="dev-policy-title" data-dev-policy>
      <h2 id="dev-policy-title">Dev policy</h2>
      <div className="muted small">
        From <code>{policy.file}</code>, read {new Date(policy.loadedAt).toLocaleString()}
        {policy.overrides.length
          ? ` · overridden: ${policy.overrides.map((o) => `${o.field} by ${o.source}`).join(', ')}`
          : ''}
      </div>
      {policy.lastReloadError ? (
        <div className="state state-error" role="alert">
          The last re-read failed, this policy stays in force: {policy.lastReloadError}
        </div>
      ) : null}
      <div className="table-wrap">
        <table className="policy-table">
          <tbody>
            {rows.map(([field, label, value]) => (
              <tr key={field} data-policy-field={field}>
                <th scope="row">{label}</th>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
