/**
 * A plugin's own admin page (manifest `admin.menus`), served by core beside the plugin's entry
 * point, shown in a sandboxed iframe: scripts and forms run, but without same-origin rights, so
 * the page cannot read the Admin's session token or script the Admin.
 */
import { adminPages } from '../api/api-client.ts';
import { ErrorBox, Empty, Loading, Unavailable } from '../components/states.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session-context.ts';
import { useAsync } from '../use-async.ts';

export function PluginFramePage({ tenant, plugin, menu }: { tenant: string; plugin: string; menu: string }) {
  const { api } = useSession();
  const pages = useAsync(() => adminPages(api, tenant), [api, tenant]);
  const entry = pages.data?.plugins.find((p) => p.pluginId === plugin);
  const item = entry?.menus.find((m) => m.id === menu);
  const src = entry && item ? `${entry.pagesUrl}${item.route}` : undefined;
  // Same origin: ask first, so a core that does not serve plugin admin pages gets a clear message
  // instead of a raw error page inside the frame.
  const probe = useAsync(
    () => (src ? fetch(src, { method: 'HEAD' }).then((r) => r.status) : Promise.resolve(0)),
    [src],
  );
  if (pages.loading && !pages.data) return <Loading what="the plugin page" />;
  if (pages.error) return <ErrorBox error={pages.error} onRetry={pages.reload} />;
  if (!entry || !item || !src)
    return (
      <Empty title="This plugin page does not exist (any more).">
        The plugin may have been uninstalled or its new version dropped the menu.
      </Empty>
    );
  return (
    <div className="frame-page">
      <div className="page-head">
        <h1>{item.title}</h1>
        <span className="muted">
          from <Link to={{ page: 'plugin', tenant, plugin }}>{entry.name}</Link> ·{' '}
          <a href={src} target="_blank" rel="noreferrer">
            open in a new tab
          </a>
        </span>
      </div>
      {probe.loading ? (
        <Loading what="the plugin page" />
      ) : probe.data === 404 || probe.data === 405 ? (
        <Unavailable
          title="This page is not served."
          error={{
            message: `${src} answered ${probe.data}: this core does not serve the admin pages of ${entry.name}, or the package has no file for this menu.`,
            hint: 'Check admin.staticDir and the menu route in the manifest, rebuild and reinstall.',
          }}
        />
      ) : (
        <iframe
          className="plugin-frame"
          title={`${entry.name}: ${item.title}`}
          src={src}
          sandbox="allow-scripts allow-forms allow-popups"
          referrerPolicy="no-referrer"
        />
      )}
    </div>
  );
}
