/**
 * Every query on the `plugins` table: one row per installed plugin and tenant, naming the install
 * that serves (`active_install_id`) and the one to fall back to (`last_stable_install_id`).
 * Methods that are part of a larger transaction take the transaction as their first argument.
 */
import type { Kysely } from 'kysely';
import type { ErrorCode, Manifest } from '@powerx/protocol';
import type { CoreDatabase, Db, PluginsTable } from '../storage/schema.ts';

export type PluginRow = PluginsTable;

/** Why a plugin is failed, as the API shows it (`failure` on the plugin). */
export interface PluginFailure {
  code: ErrorCode;
  stage: string;
  message: string;
  hint: string;
}
type Executor = Kysely<CoreDatabase>;

/** States an install may still change in (it may move its version folder or be rolled back). */
const FINISHED_STATES = ['running', 'failed', 'uninstalled'];

export class PluginRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async get(tenant: string, pluginId: string): Promise<PluginRow | undefined> {
    return this.#db
      .selectFrom('plugins')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
  }

  /** Whether the plugin is installed in the tenant (one indexed lookup, no row read). */
  async isInstalled(tenant: string, pluginId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('plugins')
      .select('plugin_id')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    return !!row;
  }

  /** The plugins of one tenant, by plugin id. */
  async listTenant(tenant: string): Promise<PluginRow[]> {
    return this.#db
      .selectFrom('plugins')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .orderBy('plugin_id')
      .execute();
  }

  async listAll(): Promise<PluginRow[]> {
    return this.#db.selectFrom('plugins').selectAll().execute();
  }

  /** Serving on this node again (start-up bookkeeping: updated_at stays). */
  async markRunning(tenant: string, pluginId: string): Promise<void> {
    await this.#db
      .updateTable('plugins')
      .set({ status: 'running' })
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }

  /**
   * The plugin is failed, and why (on its active install, where the API reads `failure` from): one
   * transaction (`outer`, the caller's, or its own), so no reader sees a failed plugin without its
   * reason. `onlyRunningInstall`: leave the reason of an install that is not `running` (one that
   * failed already keeps its own).
   */
  async markFailed(
    tenant: string,
    pluginId: string,
    failure: PluginFailure,
    opts: { touch?: boolean; onlyRunningInstall?: boolean } = {},
    outer?: Executor,
  ): Promise<void> {
    const inTransaction = (fn: (trx: Executor) => Promise<void>): Promise<void> =>
      outer ? fn(outer) : this.#db.transaction().execute(fn);
    await inTransaction(async (trx) => {
      const row = await trx
        .selectFrom('plugins')
        .select('active_install_id')
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .executeTakeFirst();
      if (!row) return;
      let reason = trx
        .updateTable('installs')
        .set({
          error_code: failure.code,
          error_stage: failure.stage,
          error_message: failure.message,
          error_hint: failure.hint,
        })
        .where('id', '=', row.active_install_id);
      if (opts.onlyRunningInstall) reason = reason.where('state', '=', 'running');
      await reason.execute();
      await trx
        .updateTable('plugins')
        .set({ status: 'failed', ...(opts.touch ? { updated_at: new Date().toISOString() } : {}) })
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .execute();
    });
  }

  /**
   * Crash recovery could not start the active version but the last stable one serves: the row says
   * so (a failed version is never kept as "stable"), so status, served version and quota agree.
   */
  async recordFallbackToStable(
    tenant: string,
    pluginId: string,
    stable: {
      installId: string;
      version: string;
      resources: { memoryMb: number; diskMb: number; cpuPercent: number };
      packageBytes: number;
    },
  ): Promise<void> {
    await this.#db
      .updateTable('plugins')
      .set({
        active_install_id: stable.installId,
        active_version: stable.version,
        last_stable_install_id: null,
        last_stable_version: null,
        status: 'running',
        memory_mb: stable.resources.memoryMb,
        disk_mb: stable.resources.diskMb,
        cpu_percent: stable.resources.cpuPercent,
        package_bytes: stable.packageBytes,
        updated_at: new Date().toISOString(),
      })
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }

  /** Part of the switch transaction: the row now points at `values.active_install_id`. */
  async writeActive(
    trx: Executor,
    tenant: string,
    pluginId: string,
    values: Omit<PluginRow, 'tenant_id' | 'plugin_id' | 'installed_at'>,
    existing: boolean,
  ): Promise<void> {
    if (existing)
      await trx
        .updateTable('plugins')
        .set(values)
        .where('tenant_id', '=', tenant)
        .where('plugin_id', '=', pluginId)
        .execute();
    else
      await trx
        .insertInto('plugins')
        .values({ tenant_id: tenant, plugin_id: pluginId, installed_at: values.updated_at, ...values })
        .execute();
  }

  async remove(trx: Executor, tenant: string, pluginId: string): Promise<void> {
    await trx
      .deleteFrom('plugins')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }

  /** The installed plugins of a tenant with the manifest of their serving install. */
  async withActiveManifests(
    tenant: string,
  ): Promise<Array<{ pluginId: string; version: string; manifest: Manifest | undefined }>> {
    const rows = await this.#db
      .selectFrom('plugins')
      .leftJoin('installs', 'installs.id', 'plugins.active_install_id')
      .select(['plugins.plugin_id', 'plugins.active_version', 'installs.manifest'])
      .where('plugins.tenant_id', '=', tenant)
      .orderBy('plugins.plugin_id')
      .execute();
    return rows.map((r) => ({
      pluginId: r.plugin_id,
      version: r.active_version,
      manifest: r.manifest ? (JSON.parse(r.manifest) as Manifest) : undefined,
    }));
  }

  /** Manifest and version folder of the install serving a plugin (its static admin pages live there). */
  async activeManifestAndDir(
    tenant: string,
    pluginId: string,
  ): Promise<{ manifest: Manifest | undefined; versionDir: string | null } | undefined> {
    const row = await this.#db
      .selectFrom('plugins')
      .innerJoin('installs', 'installs.id', 'plugins.active_install_id')
      .select(['installs.manifest as manifest', 'installs.version_dir as versionDir'])
      .where('plugins.tenant_id', '=', tenant)
      .where('plugins.plugin_id', '=', pluginId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      manifest: row.manifest ? (JSON.parse(row.manifest) as Manifest) : undefined,
      versionDir: row.versionDir,
    };
  }

  /**
   * Version folders some install still needs: one still in flight, the serving one or the last
   * stable one of a plugin. `dir` narrows the answer to one folder, `exceptInstallId` ignores
   * one install (the one asking whether anybody else uses its folder).
   */
  async versionDirsInUse(opts: { dir?: string; exceptInstallId?: string } = {}): Promise<Set<string>> {
    const rows = await this.#db
      .selectFrom('installs')
      .select('installs.version_dir')
      .where('installs.version_dir', 'is not', null)
      .$if(opts.dir !== undefined, (q) => q.where('installs.version_dir', '=', opts.dir!))
      .$if(opts.exceptInstallId !== undefined, (q) => q.where('installs.id', '!=', opts.exceptInstallId!))
      .where((eb) =>
        eb.or([
          eb('installs.state', 'not in', FINISHED_STATES),
          eb('installs.id', 'in', eb.selectFrom('plugins').select('active_install_id')),
          eb(
            'installs.id',
            'in',
            eb
              .selectFrom('plugins')
              .select('last_stable_install_id')
              .where('last_stable_install_id', 'is not', null),
          ),
        ]),
      )
      .execute();
    return new Set(rows.map((r) => r.version_dir!));
  }
}
