/**
 * What the supervisor is asked to start for an install: this node's copy of its version folder,
 * the plugin's data folder and the install's opened configuration. Activation (a new version)
 * and crash recovery (the serving one, at core start) start instances the same way.
 */
import type { Manifest } from '@powerx/protocol';
import type { StartSpec } from '@powerx/runtime';
import { materializeVersionDir } from '../cluster/version-folders.ts';
import type { InstallRow } from './install-store.ts';
import type { PipelineDeps } from './pipeline-context.ts';
import type { OpenedConfig } from './stored-config.ts';

export async function startSpecOf(
  d: PipelineDeps,
  row: InstallRow,
  manifest: Manifest,
  config: OpenedConfig,
): Promise<StartSpec> {
  const tenant = row.tenant_id;
  const pluginId = row.plugin_id!;
  return {
    tenant,
    pluginId,
    version: manifest.version,
    versionDir: await materializeVersionDir(d, row),
    dataDir: d.paths.pluginDataDir(tenant, pluginId),
    manifest,
    config: config.env,
    secrets: config.secrets,
    logLevel: config.logLevel,
  };
}
