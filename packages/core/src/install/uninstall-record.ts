/**
 * The last uninstall of each plugin, kept for good (`plugin_uninstalls`, migration 0009): whether
 * it kept the data and when. The uninstall event reaches only the nodes running at the time; a
 * node that was down learns from this record whether the data folder it still holds goes.
 */
import { rm } from 'node:fs/promises';
import { releaseStaleDataVolumes } from '@powerx/runtime';
import { dirname } from 'node:path';
import type { Db } from '../storage/schema.ts';
import type { CorePaths } from '../config/core-paths.ts';

/** Written in the uninstall's own transaction (`db` is that transaction). */
export async function recordUninstall(db: Db, tenant: string, pluginId: string, keepData: boolean) {
  const row = { keep_data: keepData ? 1 : 0, uninstalled_at: new Date().toISOString() };
  await db
    .insertInto('plugin_uninstalls')
    .values({ tenant_id: tenant, plugin_id: pluginId, ...row })
    .onConflict((oc) => oc.columns(['tenant_id', 'plugin_id']).doUpdateSet(row))
    .execute();
}

/**
 * True when a not-installed plugin's data folder on this node is to go: its last uninstall did not
 * keep the data, and no install of the plugin began since (a later install decides for itself:
 * its rows, its failure clean-up). Undefined with no uninstall on record (the folder's origin is
 * unknown: it stays).
 */
export async function uninstallDropsData(
  db: Db,
  tenant: string,
  pluginId: string,
): Promise<boolean | undefined> {
  const last = await db
    .selectFrom('plugin_uninstalls')
    .select(['keep_data', 'uninstalled_at'])
    .where('tenant_id', '=', tenant)
    .where('plugin_id', '=', pluginId)
    .executeTakeFirst();
  if (!last) return undefined;
  if (last.keep_data) return false;
  const since = await db
    .selectFrom('installs')
    .select('id')
    .where('tenant_id', '=', tenant)
    .where('plugin_id', '=', pluginId)
    .where('created_at', '>', last.uninstalled_at)
    .executeTakeFirst();
  return !since;
}

/** A node's own files of an uninstalled plugin: its version folders, and its data unless kept. */
export async function removeLocalFiles(
  paths: CorePaths,
  tenant: string,
  pluginId: string,
  keepData: boolean,
): Promise<void> {
  const root = paths.pluginRoot(tenant, pluginId);
  // A data volume an instance here did not release (a node killed meanwhile) would make the folder
  // EBUSY: it comes off first, as on the node that ran the uninstall (plugin-operations.ts).
  if (!keepData) await releaseStaleDataVolumes(root);
  await rm(keepData ? dirname(paths.versionDir(tenant, pluginId, 'x')) : root, {
    recursive: true,
    force: true,
  });
}
