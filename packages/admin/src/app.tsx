/**
 * The shell: signed out → sign-in page; signed in → header (tenant switcher, user, sign out),
 * navigation (pages, plus the admin pages that installed plugins declare) and the routed page.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Me, Tenant } from '@powerx/protocol';
import { ApiClient } from './api/api-client.ts';
import { clearSession, loadTenant, loadToken, saveTenant, saveToken } from './api/session.ts';
import { Link, href, navigate, useRoute, type Route } from './router.tsx';
import { SessionContext, type SessionInfo } from './session-context.ts';
import { SignInPage } from './pages/sign-in-page.tsx';
import { PluginsPage } from './pages/plugins-page.tsx';
import { PluginDetailPage } from './pages/plugin-detail-page.tsx';
import { InstallPage } from './pages/install-page.tsx';
import { DevSessionsPage } from './pages/dev-sessions-page.tsx';
import { AuditPage } from './pages/audit-page.tsx';
import { PluginFramePage } from './pages/plugin-frame-page.tsx';
import { PluginMenus } from './components/plugin-menus.tsx';
import { FeatureFlags } from './components/feature-flags.tsx';
import { ErrorBox, Loading } from './components/states.tsx';

const TOKEN_ID_KEY = 'px.admin.tokenId';

export function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string>();
  const [profile, setProfile] = useState<{ me: Me; tenants: Tenant[] }>();
  const [loadError, setLoadError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const route = useRoute();

  const signOutLocal = useCallback((message?: string) => {
    clearSession();
    localStorage.removeItem(TOKEN_ID_KEY);
    setToken(null);
    setProfile(undefined);
    setNotice(message);
  }, []);

  const api = useMemo(
    () => new ApiClient(token, () => signOutLocal('Your session has ended. Sign in again.')),
    [token, signOutLocal],
  );

  useEffect(() => {
    if (!token) return;
    let live = true;
    setLoadError(undefined);
    Promise.all([api.me(), api.tenants()]).then(
      ([me, t]) => live && setProfile({ me, tenants: t.tenants }),
      (error: unknown) => live && setLoadError(error),
    );
    return () => {
      live = false;
    };
  }, [api, token, attempt]);

  const signOut = async () => {
    const tokenId = localStorage.getItem(TOKEN_ID_KEY);
    // A token made by the password sign-in is revoked; a pasted API token stays valid for its owner.
    if (tokenId) await api.revokeToken(tokenId).catch(() => {});
    signOutLocal('Signed out.');
    navigate({ page: 'home' }, { replace: true });
  };

  if (!token) {
    return (
      <SignInPage
        notice={notice}
        onSignedIn={(t, tokenId) => {
          saveToken(t);
          if (tokenId) localStorage.setItem(TOKEN_ID_KEY, tokenId);
          else localStorage.removeItem(TOKEN_ID_KEY);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  }
  if (loadError) {
    return (
      <main className="sign-in">
        <ErrorBox
          error={loadError}
          title="Could not load your profile"
          onRetry={() => setAttempt((a) => a + 1)}
        />
        <button type="button" onClick={() => signOutLocal()}>
          Sign out
        </button>
      </main>
    );
  }
  if (!profile)
    return (
      <main className="sign-in">
        <Loading what="your profile" />
      </main>
    );
  return <Shell api={api} me={profile.me} tenants={profile.tenants} route={route} onSignOut={signOut} />;
}

function routeTenant(route: Route): string | undefined {
  return 'tenant' in route ? route.tenant : undefined;
}

function Shell({
  api,
  me,
  tenants,
  route,
  onSignOut,
}: {
  api: ApiClient;
  me: Me;
  tenants: Tenant[];
  route: Route;
  onSignOut: () => void;
}) {
  const fallbackTenant =
    tenants.find((t) => t.id === loadTenant())?.id ??
    tenants.find((t) => t.kind === 'sandbox')?.id ??
    tenants[0]?.id;
  // A stale or mistyped tenant in the URL (/admin/t/nope/plugins): checked against /api/tenants
  // first, so one clear state is shown instead of the pages' failed calls for an unknown tenant.
  const unknownTenant = routeTenant(route) !== undefined && !tenants.some((t) => t.id === routeTenant(route));
  const current = unknownTenant ? undefined : (routeTenant(route) ?? fallbackTenant);
  const [navOpen, setNavOpen] = useState(false);

  useEffect(() => {
    if (route.page === 'home' && fallbackTenant)
      navigate({ page: 'plugins', tenant: fallbackTenant }, { replace: true });
  }, [route.page, fallbackTenant]);
  useEffect(() => {
    if (current) saveTenant(current);
    setNavOpen(false);
  }, [current, route]);

  const session: SessionInfo = useMemo(
    () => ({
      api,
      me,
      tenants,
      tenant: (id) => tenants.find((t) => t.id === id),
      canDev: (id) =>
        me.permissions.includes('plugin:dev') &&
        tenants.find((t) => t.id === id)?.kind === 'sandbox' &&
        me.tenants.some((m) => m.id === id),
    }),
    [api, me, tenants],
  );
  const tenant = current ? session.tenant(current) : undefined;

  const switchTenant = (id: string) => {
    // Stay on the same kind of page in the other tenant (a plugin page may not exist there).
    const page = route.page === 'install' || route.page === 'dev' ? route.page : 'plugins';
    navigate(page === 'plugins' ? { page, tenant: id } : { page, tenant: id });
  };

  let body;
  if (unknownTenant) {
    body = (
      <div className="state state-error" role="alert" data-state="tenant-not-found">
        <strong>Tenant “{routeTenant(route)}” not found.</strong>
        <div>It does not exist, or you are not a member of it.</div>
        {fallbackTenant ? (
          <a href={href({ page: 'plugins', tenant: fallbackTenant })}>
            Go to the plugins of {fallbackTenant}
          </a>
        ) : (
          <a href={href({ page: 'audit' })}>Go to the audit log</a>
        )}
      </div>
    );
  } else
    switch (route.page) {
      case 'plugins':
        body = <PluginsPage tenant={route.tenant} />;
        break;
      case 'plugin':
        body = <PluginDetailPage tenant={route.tenant} plugin={route.plugin} />;
        break;
      case 'plugin-page':
        body = <PluginFramePage tenant={route.tenant} plugin={route.plugin} menu={route.menu} />;
        break;
      case 'install':
        body = <InstallPage tenant={route.tenant} />;
        break;
      case 'dev':
        body = <DevSessionsPage tenant={route.tenant} />;
        break;
      case 'audit':
        body = <AuditPage />;
        break;
      case 'home':
        body = tenants.length ? (
          <Loading what="tenants" />
        ) : (
          <div className="state state-empty">
            <strong>You belong to no tenant yet.</strong>
            <div>Ask an admin to add you to a sandbox tenant.</div>
          </div>
        );
        break;
      case 'not-found':
        body = (
          <div className="state state-empty">
            <strong>No such page.</strong> <a href={href({ page: 'home' })}>Go to the plugins</a>
          </div>
        );
        break;
    }

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className={`topbar ${tenant ? `tenant-${tenant.kind}` : ''}`}>
        <button
          type="button"
          className="nav-toggle"
          aria-expanded={navOpen}
          aria-controls="nav"
          onClick={() => setNavOpen((o) => !o)}
        >
          ☰ <span className="sr-only">Menu</span>
        </button>
        <span className="brand">PowerX Admin</span>
        {tenants.length ? (
          <span className="tenant-switch">
            <select aria-label="Tenant" value={current ?? ''} onChange={(e) => switchTenant(e.target.value)}>
              {current ? null : (
                <option value="" disabled>
                  Choose a tenant
                </option>
              )}
              {tenants.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.kind === 'production' ? '● PRODUCTION' : '○ sandbox'} — {t.name || t.id}
                </option>
              ))}
            </select>
          </span>
        ) : null}
        {tenant ? (
          <span className={`badge kind-${tenant.kind}`} data-tenant-kind={tenant.kind}>
            {tenant.kind === 'production' ? 'Production: read only here' : 'Sandbox'}
          </span>
        ) : null}
        <span className="spacer" />
        <span className="user" title={me.permissions.join(', ')}>
          {me.username}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <div className="layout">
        <nav id="nav" className={navOpen ? 'open' : ''} aria-label="Main">
          {current ? (
            <ul>
              <li>
                <Link
                  to={{ page: 'plugins', tenant: current }}
                  aria-current={route.page === 'plugins' ? 'page' : undefined}
                >
                  Plugins
                </Link>
              </li>
              {session.canDev(current) ? (
                <>
                  <li>
                    <Link
                      to={{ page: 'install', tenant: current }}
                      aria-current={route.page === 'install' ? 'page' : undefined}
                    >
                      Install
                    </Link>
                  </li>
                  <li>
                    <Link
                      to={{ page: 'dev', tenant: current }}
                      aria-current={route.page === 'dev' ? 'page' : undefined}
                    >
                      Dev sessions
                    </Link>
                  </li>
                </>
              ) : null}
              <li>
                <Link to={{ page: 'audit' }} aria-current={route.page === 'audit' ? 'page' : undefined}>
                  Audit
                </Link>
              </li>
            </ul>
          ) : (
            <ul>
              <li>
                <Link to={{ page: 'audit' }}>Audit</Link>
              </li>
            </ul>
          )}
          {current ? <PluginMenus tenant={current} route={route} /> : null}
          <FeatureFlags />
        </nav>
        <main id="main" tabIndex={-1}>
          {body}
        </main>
      </div>
    </SessionContext.Provider>
  );
}
