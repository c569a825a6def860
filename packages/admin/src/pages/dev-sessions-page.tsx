/**
 * Dev sessions of the tenant and the reload history of each dev plugin (time, duration, result,
 * rollback code, stage, message and hint), from core's GET /api/plugins/dev/sessions; and the dev
 * policy in force (GET /api/plugins/dev/policy), shown whether dev mode is on or off.
 */
import { isApiError } from '../api/api-error.ts';
import { loadDevActivity } from '../dev/dev-activity.ts';
import { formatMs } from '../components/stage-timeline.tsx';
import { ErrorBox, Empty, Loading, Unavailable } from '../components/states.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { DevPolicyCard } from '../components/dev-policy-card.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session-context.ts';
import { useAsync } from '../use-async.ts';

export function DevSessionsPage({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const status = useAsync(() => api.devStatus(), [api]);
  const policy = useAsync(() => api.devPolicy(), [api]);
  const activity = useAsync(() => loadDevActivity(api, tenant), [api, tenant]);
  const reload = () => {
    status.reload();
    policy.reload();
    activity.reload();
  };
  const devOff = isApiError(status.error) && status.error.status === 404;
  return (
    <div>
      <div className="page-head">
        <h1>Dev sessions</h1>
        <span className="muted">{tenant}</span>
        <span className="spacer" />
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {devOff ? <Unavailable title="This core is not in dev mode." error={status.error} /> : null}
      {policy.data ? (
        <DevPolicyCard policy={policy.data} tenant={tenant} />
      ) : policy.error ? (
        <ErrorBox error={policy.error} title="Dev policy unavailable" onRetry={policy.reload} />
      ) : null}
      {activity.loading && !activity.data ? (
        <Loading what="dev sessions" />
      ) : activity.error ? (
        <ErrorBox error={activity.error} onRetry={activity.reload} />
      ) : !activity.data?.length ? (
        <Empty title="No dev session or reload in this tenant yet.">
          Run <code>px-plugin dev --watch --tenant {tenant}</code> in a plugin project, or install from a
          local directory on the Install page; each reload appears here.
        </Empty>
      ) : (
        activity.data.map((a) => (
          <section className="card" key={a.pluginId} data-dev-plugin={a.pluginId}>
            <h2>
              <Link to={{ page: 'plugin', tenant, plugin: a.pluginId }}>{a.pluginId}</Link>
              {a.session ? (
                <span className="badge badge-ok" data-session-state="active">
                  session active
                </span>
              ) : (
                <span className="badge badge-muted" data-session-state="none">
                  no active session
                </span>
              )}
            </h2>
            {a.session ? (
              <div className="muted small">
                held by {a.session.holder} ({a.session.client}) · started{' '}
                {new Date(a.session.startedAt).toLocaleString()} · last seen{' '}
                {new Date(a.session.lastSeenAt).toLocaleTimeString()}
              </div>
            ) : null}
            {a.reloads.length ? (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Version</th>
                      <th scope="col">Duration</th>
                      <th scope="col">Result</th>
                      <th scope="col">Rollback reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {a.reloads.map((r) => (
                      <tr key={r.id} data-reload-result={r.result}>
                        <td>{new Date(r.at).toLocaleTimeString()}</td>
                        <td>{r.version ?? '—'}</td>
                        <td>{r.durationMs !== undefined ? formatMs(r.durationMs) : '—'}</td>
                        <td>
                          <StatusBadge status={r.result} />
                        </td>
                        <td data-rollback-code={r.rollback?.code}>
                          {r.rollback ? (
                            <>
                              <code>{r.rollback.code}</code>
                              {r.rollback.stage ? ` at ${r.rollback.stage.replaceAll('_', ' ')}` : ''}:{' '}
                              {r.rollback.message}
                              {r.rollback.hint ? (
                                <div className="muted small">Hint: {r.rollback.hint}</div>
                              ) : null}
                              <div className="muted small">
                                {r.rollback.serving
                                  ? `${r.rollback.serving.version} ${r.rollback.restored ? 'serves again' : 'kept serving'}`
                                  : 'nothing is serving'}
                              </div>
                            </>
                          ) : (
                            '—'
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <div className="muted">No reload yet.</div>
            )}
          </section>
        ))
      )}
    </div>
  );
}
