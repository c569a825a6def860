/**
 * Where a plugin can be reached through core: its test entry point (core reverse-proxies
 * `/_p/<tenant>/<plugin>/…` to the instance serving it) and its page in the Admin. Core and the
 * CLI print these; the paths are built here only.
 */

/** `/_p/<tenant>/<plugin>/`, path segments encoded. */
export function entryPath(tenant: string, pluginId: string): string {
  return `/_p/${encodeURIComponent(tenant)}/${encodeURIComponent(pluginId)}/`;
}

/** The plugin's page in the Admin: `/admin/t/<tenant>/plugins/<plugin>`. */
export function adminPluginPath(tenant: string, pluginId: string): string {
  return `/admin/t/${encodeURIComponent(tenant)}/plugins/${encodeURIComponent(pluginId)}`;
}
