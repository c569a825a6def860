/**
 * A small history router: the Admin lives under /admin/ (core answers every deep link with
 * index.html), and the tenant is part of the URL so a link can be shared or reloaded as is.
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export const BASE = '/admin';

export type Route =
  | { page: 'plugins'; tenant: string }
  | { page: 'plugin'; tenant: string; plugin: string }
  | { page: 'plugin-page'; tenant: string; plugin: string; menu: string }
  | { page: 'install'; tenant: string }
  | { page: 'dev'; tenant: string }
  | { page: 'audit' }
  | { page: 'home' }
  | { page: 'not-found'; path: string };

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'home' };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit' };
  if (parts[0] === 't' && parts[1]) {
    const tenant = parts[1];
    const [section, plugin, sub, menu] = parts.slice(2);
    if (!section || (section === 'plugins' && !plugin)) return { page: 'plugins', tenant };
    if (section === 'plugins' && plugin && !sub) return { page: 'plugin', tenant, plugin };
    if (section === 'plugins' && plugin && sub === 'pages' && menu)
      return { page: 'plugin-page', tenant, plugin, menu };
    if (section === 'install') return { page: 'install', tenant };
    if (section === 'dev') return { page: 'dev', tenant };
  }
  return { page: 'not-found', path: pathname };
}

export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.page) {
    case 'plugins':
      return `${BASE}/t/${e(route.tenant)}/plugins`;
    case 'plugin':
      return `${BASE}/t/${e(route.tenant)}/plugins/${e(route.plugin)}`;
    case 'plugin-page':
      return `${BASE}/t/${e(route.tenant)}/plugins/${e(route.plugin)}/pages/${e(route.menu)}`;
    case 'install':
      return `${BASE}/t/${e(route.tenant)}/install`;
    case 'dev':
      return `${BASE}/t/${e(route.tenant)}/dev`;
    case 'audit':
      return `${BASE}/audit`;
    case 'home':
      return `${BASE}/`;
    case 'not-found':
      return route.path;
  }
}

const listeners = new Set<() => void>();

export function navigate(to: Route | string, opts: { replace?: boolean } = {}): void {
  const url = typeof to === 'string' ? to : href(to);
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** An <a> that navigates inside the app (and still opens in a new tab with ctrl/cmd-click). */
export function Link({ to, ...rest }: { to: Route } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const url = href(to);
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    event.preventDefault();
    navigate(url);
  };
  return <a {...rest} href={url} onClick={onClick} />;
}
