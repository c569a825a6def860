/** The tenant's plugins: status, version, last stable, health, usage against quota. */
import { ErrorBox, Empty, Loading } from '../components/states.tsx';
import { StatusBadge, UsageBar } from '../components/status-badge.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session-context.ts';
import { useAsync, useEvery } from '../use-async.ts';
import { QuotaCompare } from '../components/quota-compare.tsx';

export function PluginsPage({ tenant }: { tenant: string }) {
  const session = useSession();
  const { api } = session;
  const plugins = useAsync(() => api.plugins(tenant), [api, tenant]);
  const usage = useAsync(() => api.usage(tenant), [api, tenant]);
  const t = session.tenant(tenant);
  const canDev = session.canDev(tenant);
  useEvery(5000, () => {
    plugins.reload();
    usage.reload();
  });

  return (
    <div>
      <div className="page-head">
        <h1>Plugins</h1>
        <span className="muted">{t ? `${t.name || t.id} (${t.kind})` : tenant}</span>
        <span className="spacer" />
        <button
          type="button"
          onClick={() => {
            plugins.reload();
            usage.reload();
          }}
        >
          Refresh
        </button>
        {canDev ? (
          <Link className="button primary" to={{ page: 'install', tenant }}>
            Install a plugin
          </Link>
        ) : null}
      </div>
      {!canDev && t?.kind === 'production' ? (
        <div className="state state-unavailable">
          Production tenant: plugins are shown read only. Installs and dev actions happen in sandbox tenants.
        </div>
      ) : null}
      {usage.data ? (
        <section className="card quota" aria-label="Tenant quota">
          <UsageBar label="Plugins" value={usage.data.plugins} limit={usage.data.limits.maxPlugins} unit="" />
          <UsageBar
            label="Memory"
            value={usage.data.memoryMb}
            limit={usage.data.limits.maxMemoryMb}
            unit="MB"
          />
          <UsageBar label="Disk" value={usage.data.diskMb} limit={usage.data.limits.maxDiskMb} unit="MB" />
          <UsageBar
            label="CPU"
            value={usage.data.cpuPercent}
            limit={usage.data.limits.maxCpuPercent}
            unit="%"
          />
        </section>
      ) : usage.error ? (
        <ErrorBox error={usage.error} title="Quota unavailable" onRetry={usage.reload} />
      ) : null}
      {usage.data ? <QuotaCompare usage={usage.data} /> : null}
      {plugins.loading && !plugins.data ? (
        <Loading what="plugins" />
      ) : plugins.error ? (
        <ErrorBox error={plugins.error} onRetry={plugins.reload} />
      ) : !plugins.data?.plugins.length ? (
        <Empty title="No plugin installed in this tenant yet.">
          {canDev ? (
            <>
              Drop a <code>.pxp</code> on the <Link to={{ page: 'install', tenant }}>Install</Link> page, or
              run <code>px-plugin dev --watch</code> in a plugin project.
            </>
          ) : (
            'Plugins are installed in sandbox tenants first.'
          )}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="plugins-table">
            <thead>
              <tr>
                <th scope="col">Plugin</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col">Last stable</th>
                <th scope="col">Health</th>
                <th scope="col">Memory</th>
                <th scope="col">CPU</th>
                <th scope="col">Disk</th>
              </tr>
            </thead>
            <tbody>
              {plugins.data.plugins.map((p) => (
                <tr key={p.pluginId} data-plugin={p.pluginId}>
                  <td>
                    <Link to={{ page: 'plugin', tenant, plugin: p.pluginId }}>{p.name}</Link>
                    <div className="muted small">{p.pluginId}</div>
                  </td>
                  <td>
                    <StatusBadge status={p.status} />
                  </td>
                  <td>{p.version}</td>
                  <td>{p.lastStableVersion ?? <span className="muted">—</span>}</td>
                  <td>
                    {p.instance ? (
                      <>
                        {p.instance.state}
                        {p.instance.restarts ? (
                          <span className="muted"> · {p.instance.restarts} restarts</span>
                        ) : null}
                      </>
                    ) : (
                      <span className="muted">no instance</span>
                    )}
                  </td>
                  <td>
                    <UsageBar
                      label="Memory"
                      value={p.instance?.usage.privateMb ?? p.instance?.usage.rssMb ?? 0}
                      limit={p.memoryMb}
                      unit="MB"
                    />
                  </td>
                  <td>{p.instance ? `${Math.round(p.instance.usage.cpuPercent)} %` : '—'}</td>
                  <td>
                    <UsageBar label="Disk" value={p.instance?.usage.diskMb ?? 0} limit={p.diskMb} unit="MB" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
