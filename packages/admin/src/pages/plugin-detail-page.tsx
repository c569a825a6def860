/**
 * One plugin: status and health, the stage timeline of its last install, version history,
 * configuration (re-open the wizard; secrets only as set / not set), the test entry point,
 * rollback / restart / uninstall with confirmation, its admin pages, and the live log.
 */
import { useState } from 'react';
import type { Install, InstallConfig } from '@powerx/protocol';
import { adminPages, onThisOrigin } from '../api/api-client.ts';
import { describeError, isApiError } from '../api/api-error.ts';
import { ConfigWizard } from '../components/config-wizard.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { InstallProgress, useInstallProgress } from '../components/install-progress.tsx';
import { LiveLogsPanel } from '../components/live-logs-panel.tsx';
import { formatMs, StageTimeline } from '../components/stage-timeline.tsx';
import { ErrorBox, Empty, Loading } from '../components/states.tsx';
import { StatusBadge, UsageBar } from '../components/status-badge.tsx';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session-context.ts';
import { useAsync, useEvery } from '../use-async.ts';

type Action = 'rollback' | 'restart' | 'uninstall';

/** Headline of a failed plugin, by the stage its failure names (plugin-routes.ts `failure`). */
const FAILURE_TITLES: Record<string, string> = {
  running: 'Failed while running',
  start: 'Failed to start when core started',
  failover: 'Failed to start on another node after its node was lost',
};

export function PluginDetailPage({ tenant, plugin }: { tenant: string; plugin: string }) {
  const session = useSession();
  const { api } = session;
  const canDev = session.canDev(tenant);
  const info = useAsync(() => api.plugin(tenant, plugin), [api, tenant, plugin]);
  const history = useAsync(() => api.installs(tenant, plugin, 50), [api, tenant, plugin]);
  const active = useAsync(
    () => (info.data ? api.install(info.data.activeInstallId) : Promise.resolve(undefined)),
    [api, info.data?.activeInstallId],
  );
  const pages = useAsync(() => adminPages(api, tenant), [api, tenant]);
  const [confirm, setConfirm] = useState<Action>();
  const [actionError, setActionError] = useState<unknown>();
  const [operation, setOperation] = useState<{ title: string; install: Install }>();
  const [editing, setEditing] = useState(false);
  const [configErrors, setConfigErrors] = useState<Record<string, string>>();
  const [busy, setBusy] = useState(false);

  const refresh = () => {
    info.reload();
    history.reload();
  };
  const progress = useInstallProgress(api, operation?.install, refresh);
  // Not while an action runs: a poll that lands after an uninstall would only read a 404.
  useEvery(5000, () => !busy && info.reload());

  if (info.loading && !info.data) return <Loading what="the plugin" />;
  if (info.error && !info.data) {
    if (isApiError(info.error) && info.error.status === 404) {
      return (
        <Empty title="This plugin is not installed in this tenant.">
          Back to the <Link to={{ page: 'plugins', tenant }}>plugins</Link>.
        </Empty>
      );
    }
    return <ErrorBox error={info.error} onRetry={info.reload} />;
  }
  const p = info.data!;
  const installs = history.data?.installs ?? [];
  const lastInstall = installs[0];
  const menus = pages.data?.plugins.find((x) => x.pluginId === plugin)?.menus ?? [];

  const run = async (action: Action) => {
    setConfirm(undefined);
    setActionError(undefined);
    setBusy(true);
    try {
      if (action === 'uninstall') {
        await api.uninstall(tenant, plugin);
        navigate({ page: 'plugins', tenant });
        return;
      }
      const install =
        action === 'rollback'
          ? await api.rollback(tenant, plugin)
          : await api.reconfigure(tenant, plugin, {});
      setOperation({
        title: action === 'rollback' ? `Rolling back to ${p.lastStableVersion}` : 'Restarting',
        install,
      });
      refresh();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  };

  const saveConfig = async (config: InstallConfig) => {
    setBusy(true);
    setConfigErrors(undefined);
    setActionError(undefined);
    try {
      const install = await api.reconfigure(tenant, plugin, config);
      setEditing(false);
      setOperation({ title: 'Applying the new configuration', install });
      refresh();
    } catch (error) {
      const name = isApiError(error) ? (error.details?.name as string | undefined) : undefined;
      if (name) setConfigErrors({ [name]: `${describeError(error).message} ${describeError(error).hint}` });
      else setActionError(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <div className="page-head">
        <h1>{p.name}</h1>
        <StatusBadge status={p.status} />
        <span className="muted">{p.pluginId}</span>
        <span className="spacer" />
        <button type="button" onClick={refresh}>
          Refresh
        </button>
      </div>

      <section className="card facts" aria-label="Overview">
        {p.failure ? (
          // The serving version failed (a crash loop or quota breach while running, no start at
          // core start, a failover that ran out of attempts) and no stable version could take
          // over: say why, and what to do.
          <div className="state state-error" role="alert" data-plugin-failure>
            <strong>{FAILURE_TITLES[p.failure.stage] ?? `Failed (${p.failure.stage})`}</strong>
            <div>
              <code>{p.failure.code}</code> {p.failure.message}
            </div>
            <div className="hint">Hint: {p.failure.hint}</div>
          </div>
        ) : null}
        <dl>
          <div>
            <dt>Version</dt>
            <dd data-fact="version">{p.version}</dd>
          </div>
          <div>
            <dt>Last stable</dt>
            <dd data-fact="last-stable">{p.lastStableVersion ?? '—'}</dd>
          </div>
          <div>
            <dt>Health</dt>
            <dd>
              {p.instance
                ? `${p.instance.state}${p.instance.pid ? ` · pid ${p.instance.pid}` : ''} · ${p.instance.restarts} restarts`
                : 'no instance'}
            </dd>
          </div>
          {p.instance ? (
            <div>
              <dt>Isolation</dt>
              <dd data-fact="isolation">{isolationText(p.instance.isolation)}</dd>
            </div>
          ) : null}
          <div>
            <dt>Installed</dt>
            <dd>{new Date(p.installedAt).toLocaleString()}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd>{new Date(p.updatedAt).toLocaleString()}</dd>
          </div>
          <div>
            <dt>Test entry point</dt>
            <dd>
              <a href={onThisOrigin(p.entryUrl)} target="_blank" rel="noreferrer" data-entry-link>
                {onThisOrigin(p.entryUrl)}
              </a>
            </dd>
          </div>
        </dl>
        <div className="quota">
          <UsageBar
            label="Memory"
            value={p.instance?.usage.privateMb ?? p.instance?.usage.rssMb ?? 0}
            limit={p.memoryMb}
            unit="MB"
          />
          <UsageBar label="Disk" value={p.instance?.usage.diskMb ?? 0} limit={p.diskMb} unit="MB" />
          <UsageBar label="CPU" value={p.instance?.usage.cpuPercent ?? 0} limit={100} unit="%" />
          {p.storage ? (
            <UsageBar
              label="Storage"
              value={p.storage.usedBytes / 1024 / 1024}
              limit={p.storage.limitMb}
              unit="MB"
            />
          ) : null}
        </div>
        {menus.length ? (
          <div className="menus">
            Admin pages:{' '}
            {menus.map((m) => (
              <Link key={m.id} to={{ page: 'plugin-page', tenant, plugin, menu: m.id }}>
                {m.title}
              </Link>
            ))}
          </div>
        ) : null}
        {canDev ? (
          <div className="actions">
            <button
              type="button"
              onClick={() => setConfirm('rollback')}
              disabled={busy || !p.lastStableVersion}
              title={p.lastStableVersion ? `Serve ${p.lastStableVersion} again` : 'No earlier stable version'}
            >
              Roll back{p.lastStableVersion ? ` to ${p.lastStableVersion}` : ''}
            </button>
            <button type="button" onClick={() => setConfirm('restart')} disabled={busy}>
              Restart
            </button>
            <button
              type="button"
              onClick={() => setEditing((e) => !e)}
              disabled={busy || !active.data?.wizard}
            >
              {editing ? 'Close configuration' : 'Edit configuration'}
            </button>
            <button type="button" className="danger" onClick={() => setConfirm('uninstall')} disabled={busy}>
              Uninstall
            </button>
          </div>
        ) : (
          <div className="muted small">
            Dev actions (rollback, restart, configuration, uninstall) are available in sandbox tenants to
            users with plugin:dev.
          </div>
        )}
        {actionError ? <ErrorBox error={actionError} title="The action failed" /> : null}
      </section>

      {operation && progress.install ? (
        <InstallProgress
          install={progress.install}
          error={progress.error}
          title={operation.title}
          feed={progress.feed}
        />
      ) : null}

      <section className="card" aria-labelledby="config-title">
        <h2 id="config-title">Configuration</h2>
        {active.loading && !active.data ? (
          <Loading what="the configuration" />
        ) : active.error ? (
          <ErrorBox error={active.error} onRetry={active.reload} />
        ) : active.data?.config ? (
          editing && active.data.wizard ? (
            <ConfigWizard
              wizard={active.data.wizard}
              current={active.data.config}
              submitLabel="Apply and restart"
              busy={busy}
              serverErrors={configErrors}
              onSubmit={saveConfig}
              onCancel={() => setEditing(false)}
            />
          ) : (
            <table className="kv">
              <tbody>
                {Object.entries(active.data.config.env).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{String(v)}</td>
                  </tr>
                ))}
                {(active.data.wizard?.secrets ?? []).map((s) => {
                  const isSet = active.data!.config!.secrets.includes(s.name);
                  return (
                    <tr key={s.name}>
                      <th scope="row">{s.name}</th>
                      <td>
                        <span
                          className={`badge ${isSet ? 'badge-ok' : 'badge-muted'}`}
                          data-secret-state={isSet ? 'set' : 'unset'}
                        >
                          secret {isSet ? 'set' : 'not set'}
                        </span>
                      </td>
                    </tr>
                  );
                })}
                <tr>
                  <th scope="row">log level</th>
                  <td>{active.data.config.logLevel}</td>
                </tr>
              </tbody>
            </table>
          )
        ) : (
          <Empty title="No configuration recorded." />
        )}
      </section>

      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">
          Last operation{' '}
          {lastInstall ? (
            <span className="muted small">
              ({lastInstall.kind} of {lastInstall.version ?? '?'},{' '}
              {new Date(lastInstall.createdAt).toLocaleString()})
            </span>
          ) : null}
        </h2>
        {history.loading && !history.data ? (
          <Loading what="the install history" />
        ) : history.error ? (
          <ErrorBox error={history.error} onRetry={history.reload} />
        ) : lastInstall ? (
          <StageTimeline install={lastInstall} />
        ) : (
          <Empty title="No install recorded." />
        )}
      </section>

      <section className="card" aria-labelledby="history-title">
        <h2 id="history-title">Version history</h2>
        {installs.length ? (
          <div className="table-wrap">
            <table className="history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Version</th>
                  <th scope="col">Result</th>
                  <th scope="col">By</th>
                  <th scope="col">Duration</th>
                </tr>
              </thead>
              <tbody>
                {installs.map((i) => (
                  <tr key={i.id} data-install={i.id}>
                    <td>{new Date(i.createdAt).toLocaleString()}</td>
                    <td>
                      {i.kind}
                      {i.flow === 'dev' ? (
                        <span
                          className="badge"
                          data-flow="dev"
                          title="px-plugin dev / install from a local directory"
                        >
                          dev
                        </span>
                      ) : null}
                      {i.id === p.activeInstallId ? <span className="badge badge-ok">active</span> : null}
                    </td>
                    {/* Dev reloads share a version number: the content hash tells the builds apart. */}
                    <td>
                      {i.version ?? '—'}
                      {i.packageSha256 ? (
                        <>
                          {' '}
                          <code className="small muted" data-content-hash title={`sha256 ${i.packageSha256}`}>
                            {i.packageSha256.slice(0, 12)}
                          </code>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <StatusBadge status={i.state} />
                      {i.error ? (
                        <div className="small">
                          {i.error.code}: {i.error.hint}
                        </div>
                      ) : null}
                    </td>
                    <td title={i.actor}>
                      {i.actor === session.me.id ? session.me.username : i.actor.slice(0, 8)}
                    </td>
                    <td>{formatMs(i.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : history.data ? (
          <Empty title="No versions recorded." />
        ) : null}
      </section>

      <LiveLogsPanel api={api} tenant={tenant} plugin={plugin} />

      <ConfirmDialog
        open={confirm !== undefined}
        title={
          confirm === 'rollback'
            ? `Roll back ${p.name}?`
            : confirm === 'restart'
              ? `Restart ${p.name}?`
              : `Uninstall ${p.name}?`
        }
        confirmLabel={confirm === 'rollback' ? 'Roll back' : confirm === 'restart' ? 'Restart' : 'Uninstall'}
        danger={confirm === 'uninstall'}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => confirm && void run(confirm)}
      >
        {confirm === 'rollback' ? (
          <p>
            Version {p.lastStableVersion} will serve again; {p.version} stops once it is healthy.
          </p>
        ) : null}
        {confirm === 'restart' ? (
          <p>
            The plugin restarts with its current configuration. If it does not become healthy, the running
            version keeps serving.
          </p>
        ) : null}
        {confirm === 'uninstall' ? (
          <p>
            Stops the plugin and removes its files, data, secrets and generated test data from {tenant}. This
            cannot be undone.
          </p>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}

/** What sandbox the instance really got; WEAK first when it runs without the OS sandbox. */
function isolationText(isolation: unknown): string {
  const r = (isolation ?? {}) as {
    level?: string;
    uid?: number;
    seccomp?: boolean;
    cgroup?: { version?: number };
  };
  if (r.level !== 'bubblewrap') return `WEAK isolation (${r.level ?? 'unknown'}): no OS sandbox`;
  return [
    'bubblewrap',
    r.uid !== undefined ? `uid ${r.uid}` : '',
    r.seccomp ? 'seccomp' : '',
    r.cgroup?.version ? `cgroup v${r.cgroup.version}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}
