/**
 * The test entry point of a plugin: core reverse-proxies `/_p/<tenant>/<plugin>/…` to the
 * instance serving it (server.ts). Every URL or path to it is built here.
 */

/** `/_p/<tenant>/<plugin>/`, path segments encoded. */
export function entryPath(tenant: string, pluginId: string): string {
  return `/_p/${encodeURIComponent(tenant)}/${encodeURIComponent(pluginId)}/`;
}

/** The absolute entry URL under core's public URL, e.g. http://127.0.0.1:8077/_p/sandbox-dev/com.acme.hello/ */
export function entryUrl(publicUrl: string, tenant: string, pluginId: string): string {
  return `${publicUrl}${entryPath(tenant, pluginId)}`;
}
