/**
 * Start-up sweep of what an uninstall leaves when core dies between its commit and its clean-up:
 * folders of plugins that are no longer installed. Only what is provably left over goes: a plugin
 * folder with no `plugins` row and no install of that plugin still open (in flight or waiting for
 * configuration) loses its empty folders, bottom-up, and the emptied tenant folders with it. A
 * non-empty `data/` folder stays: a dev uninstall keeps the data on purpose, and nothing recorded
 * says which kind of uninstall died. Version folders were already handled by the orphan sweep
 * (no row names them once the uninstall committed).
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../storage/schema.ts';
import type { CorePaths } from '../config/core-paths.ts';
import { TERMINAL_STATES } from './install-store.ts';

export async function sweepUninstalledPluginFolders(db: Db, paths: CorePaths, log: Logger): Promise<void> {
  for (const tenant of await readdir(paths.tenants).catch(() => [] as string[])) {
    const pluginsDir = join(paths.tenants, tenant, 'plugins');
    for (const plugin of await readdir(pluginsDir).catch(() => [] as string[])) {
      if (await stillInUse(db, tenant, plugin)) continue;
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
