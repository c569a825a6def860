/**
 * Start-up sweep of what an uninstall leaves when core dies between its commit and its clean-up.
 *
 * - Uninstalls recorded in `uninstall_cleanups` (written in the uninstall's own transaction) are
 *   finished: the plugin folder goes (only `versions/` when the data was to be kept), with its
 *   storage documents unless kept, and the row. In a cluster the other nodes are told again (the
 *   lease goes, each node drops its copy): the node that uninstalled may have died before it told
 *   them, and the one serving it would go on serving an uninstalled plugin.
 * - Any other plugin folder with no `plugins` row and no install of that plugin still open loses
 *   its empty folders, bottom-up, and the emptied tenant folders with it; a non-empty folder there
 *   is not provably left over and stays — except a data folder the plugin's last install made
 *   and then failed: in a cluster another node rolls back the install of a node killed mid-way,
 *   and cannot remove what that install made on the killed node's disk. A data folder older than
 *   that install (data an uninstall kept) stays. And the folder of a plugin uninstalled while
 *   this node was down (it missed the uninstall event): it goes unless that uninstall kept the
 *   data, and never once an install of the plugin began since (uninstall-record.ts).
 *
 * Version folders were already handled by the orphan sweep (no row names them once the uninstall
 * committed), and volumes a killed core left mounted were detached before (leftover-mounts.ts).
 */
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../storage/schema.ts';
import type { CorePaths } from '../config/core-paths.ts';
import type { PluginStorage } from '../plugins/plugin-storage.ts';
import { TERMINAL_STATES } from './install-store.ts';
import type { PlacementHooks } from '../cluster/placement-hooks.ts';
import { releaseStaleDataVolumes } from '@powerx/runtime';
import { uninstallDropsData } from './uninstall-record.ts';

export async function sweepUninstalledPluginFolders(d: {
  db: Db;
  paths: CorePaths;
  log: Logger;
  storage: PluginStorage;
  placement?: PlacementHooks;
}): Promise<void> {
  const { db, paths, log } = d;
  for (const pending of await db.selectFrom('uninstall_cleanups').selectAll().execute()) {
    const { tenant_id: tenant, plugin_id: plugin } = pending;
    if (!(await stillInUse(db, tenant, plugin))) {
      const root = paths.pluginRoot(tenant, plugin);
      await rm(pending.keep_data ? join(root, 'versions') : root, { recursive: true, force: true });
      if (!pending.keep_data) await d.storage.dropNamespace(tenant, plugin);
      await d.placement?.uninstalled(tenant, plugin, !!pending.keep_data);
      log.warn(
        { dir: root, keepData: !!pending.keep_data },
        'finished an uninstall a previous run left half-done',
      );
    }
    await db
      .deleteFrom('uninstall_cleanups')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', plugin)
      .execute();
  }
  for (const tenant of await readdir(paths.tenants).catch(() => [] as string[])) {
    const pluginsDir = join(paths.tenants, tenant, 'plugins');
    for (const plugin of await readdir(pluginsDir).catch(() => [] as string[])) {
      if (await stillInUse(db, tenant, plugin)) continue;
      await removeDataOfFailedInstall(d, tenant, plugin);
      await removeDataOfUninstalled(d, tenant, plugin);
      const root = paths.pluginRoot(tenant, plugin);
      if (await removeEmptyTree(root))
        log.warn({ dir: root }, 'removed the folders of an uninstalled plugin');
    }
    await removeEmptyTree(join(paths.tenants, tenant));
  }
}

async function stillInUse(db: Db, tenant: string, plugin: string): Promise<boolean> {
  const installed = await db
    .selectFrom('plugins')
    .select('plugin_id')
    .where('tenant_id', '=', tenant)
    .where('plugin_id', '=', plugin)
    .executeTakeFirst();
  if (installed) return true;
  const open = await db
    .selectFrom('installs')
    .select('id')
    .where('tenant_id', '=', tenant)
    .where('plugin_id', '=', plugin)
    .where('state', 'not in', [...TERMINAL_STATES])
    .executeTakeFirst();
  return !!open;
}

async function removeDataOfFailedInstall(
  d: { db: Db; paths: CorePaths; log: Logger },
  tenant: string,
  plugin: string,
): Promise<void> {
  const last = await d.db
    .selectFrom('installs')
    .select(['state', 'created_data_dir', 'created_at'])
    .where('tenant_id', '=', tenant)
    .where('plugin_id', '=', plugin)
    .where('kind', '=', 'install')
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (last?.state !== 'failed' || !last.created_data_dir) return;
  const dataDir = d.paths.pluginDataDir(tenant, plugin);
  const made = (await stat(dataDir).catch(() => undefined))?.birthtimeMs;
  if (!made || made < Date.parse(last.created_at)) return;
  await rm(dataDir, { recursive: true, force: true });
  d.log.warn({ dir: dataDir }, 'removed the data folder of an install that failed (rolled back elsewhere)');
}

/** This node was down when the plugin was uninstalled elsewhere: its copy goes unless the data was kept. */
async function removeDataOfUninstalled(
  d: { db: Db; paths: CorePaths; log: Logger },
  tenant: string,
  plugin: string,
): Promise<void> {
  if (!(await uninstallDropsData(d.db, tenant, plugin))) return;
  const root = d.paths.pluginRoot(tenant, plugin);
  await releaseStaleDataVolumes(root);
  await rm(root, { recursive: true, force: true });
  d.log.warn(
    { dir: root },
    'removed the folder of a plugin uninstalled (data not kept) while this node was down',
  );
}

/** Removes `dir` if it holds nothing but empty folders; true when it is gone. */
async function removeEmptyTree(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  let empty = true;
  for (const e of entries) {
    if (!e.isDirectory() || !(await removeEmptyTree(join(dir, e.name)))) empty = false;
  }
  if (!empty) return false;
  return rmdir(dir).then(
    () => true,
    () => false,
  );
}
