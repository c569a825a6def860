/**
 * A plugin's own admin page (manifest `admin.menus`), served by core beside the plugin's entry
 * point, shown in a sandboxed iframe: scripts and forms run, but without same-origin rights, so
 * the page cannot read the Admin's session token or script the Admin.
 */
import { adminPages } from '../api/api-client.ts';
import { ErrorBox, Empty, Loading } from '../components/states.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session-context.ts';
import { useAsync } from '../use-async.ts';

export function PluginFramePage({ tenant, plugin, menu }: { tenant: string; plugin: string; menu: string }) {
  const { api } = useSession();
  const pages = useAsync(() => adminPages(api, tenant), [api, tenant]);
  if (pages.loading && !pages.data) return <Loading what="the plugin page" />;
  if (pages.error) return <ErrorBox error={pages.error} onRetry={pages.reload} />;
  const entry = pages.data?.plugins.find((p) => p.pluginId === plugin);
  const item = entry?.menus.find((m) => m.id === menu);
  if (!entry || !item) return <Empty title="This plugin page does not exist (any more).">The plugin may have been uninstalled or its new version dropped the menu.</Empty>;
  const src = `${entry.pagesUrl}${item.route}`;
  return (
    <div className="frame-page">
      <div className="page-head">
        <h1>{item.title}</h1>
        <span className="muted">
          from <Link to={{ page: 'plugin', tenant, plugin }}>{entry.name}</Link> · <a href={src} target="_blank" rel="noreferrer">open in a new tab</a>
        </span>
      </div>
      <iframe className="plugin-frame" title={`${entry.name}: ${item.title}`} src={src} sandbox="allow-scripts allow-forms allow-popups" referrerPolicy="no-referrer" />
    </div>
  );
}
