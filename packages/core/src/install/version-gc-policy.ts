/**
 * Which version folders a switch leaves behind. A plugin keeps at most two versions on disk: the
 * serving one and the last stable one. The folders of the others go once no install needs them
 * (version-gc.ts asks the database; this file only decides).
 */
import type { InstallsTable, PluginsTable } from '../storage/schema.ts';

export type CurrentPlugin = Pick<
  PluginsTable,
  'status' | 'active_install_id' | 'active_version' | 'last_stable_install_id' | 'last_stable_version'
>;

export interface SwitchPlan {
  /** What becomes the plugin's last stable install after the switch. */
  lastStable: { id: string | null; version: string | null };
  /** Installs whose version folders may go after the switch (if nothing else refers to them). */
  displaced: string[];
}

/**
 * A rollback to last stable leaves no stable behind it; anything else pushes the current version
 * there — unless the current one failed while serving: a failed version is never "stable", so
 * the last stable one stays and the failed one is dropped instead.
 */
export function switchPlan(kind: InstallsTable['kind'], current: CurrentPlugin | undefined): SwitchPlan {
  if (!current) return { lastStable: { id: null, version: null }, displaced: [] };
  const currentFailed = current.status === 'failed';
  const lastStable =
    kind === 'rollback'
      ? { id: null, version: null }
      : !currentFailed
        ? { id: current.active_install_id, version: current.active_version }
        : { id: current.last_stable_install_id, version: current.last_stable_version };
  const displaced =
    kind === 'rollback'
      ? [current.last_stable_install_id, current.active_install_id]
      : currentFailed
        ? [current.active_install_id]
        : [current.last_stable_install_id];
  return { lastStable, displaced: displaced.filter((x): x is string => !!x) };
}

/** Version folders found on disk that no install needs any more. */
export function orphanVersionFolders(found: readonly string[], inUse: ReadonlySet<string>): string[] {
  return found.filter((dir) => !inUse.has(dir));
}
