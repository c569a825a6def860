/**
 * The test entry point of a plugin under core's public URL. The path itself is protocol's
 * (`entryPath`), shared with the CLI.
 */
import { entryPath } from '@powerx/protocol';

export { entryPath };

/** The absolute entry URL under core's public URL, e.g. http://127.0.0.1:8077/_p/sandbox-dev/com.acme.hello/ */
export function entryUrl(publicUrl: string, tenant: string, pluginId: string): string {
  return `${publicUrl}${entryPath(tenant, pluginId)}`;
}
