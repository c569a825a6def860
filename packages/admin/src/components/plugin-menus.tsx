/** Navigation entries for the admin pages that the tenant's plugins declare in their manifest. */
import { adminPages } from '../api/api-client.ts';
import { Link, type Route } from '../router.tsx';
import { useSession } from '../session-context.ts';
import { useAsync } from '../use-async.ts';

export function PluginMenus({ tenant, route }: { tenant: string; route: Route }) {
  const { api } = useSession();
  // Re-read when the page changes: an install or uninstall changes the menus.
  const pages = useAsync(
    () => adminPages(api, tenant),
    [api, tenant, route.page === 'plugin' || route.page === 'plugins' ? route : route.page],
  );
  const plugins = pages.data?.plugins.filter((p) => p.menus.length) ?? [];
  if (!plugins.length) return null;
  return (
    <div className="plugin-menus">
      <div className="nav-heading">Plugin pages</div>
      <ul>
        {plugins.flatMap((p) =>
          p.menus.map((m) => (
            <li key={`${p.pluginId}/${m.id}`}>
              <Link
                to={{ page: 'plugin-page', tenant, plugin: p.pluginId, menu: m.id }}
                aria-current={
                  route.page === 'plugin-page' && route.plugin === p.pluginId && route.menu === m.id
                    ? 'page'
                    : undefined
                }
              >
                {m.title} <span className="muted small">{p.name}</span>
              </Link>
            </li>
          )),
        )}
      </ul>
    </div>
  );
}
