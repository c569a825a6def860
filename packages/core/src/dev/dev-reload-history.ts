/**
 * The reload history of dev plugins, for `GET /api/plugins/dev/sessions` (the Admin's dev
 * sessions page): per (tenant, plugin) the last MAX_PER_PLUGIN reloads with time, duration,
 * result and, for one that did not stay, the rollback code, stage, message and hint.
 *
 * Recorded by dev-service.ts where each outcome is decided (switch, failure before the switch,
 * crash in the grace window, build error reported by the CLI). A reload that switched and then
 * crashed in its grace window is the same entry, updated to `rolled_back`.
 *
 * Kept in the core database (table `dev_reloads`, migration 0008-dev-reloads), not in a file of
 * the node: in a cluster every node lists the reloads done through any other, and an update finds
 * its entry by reload id whichever node records it. The same queries serve the embedded SQLite
 * store, so there is one implementation; a restart keeps the history, and backups carry it with
 * the database. Pruned on write to MAX_PER_PLUGIN per plugin. The audit log stays the full record.
 *
 * Cores before 0008 saved the history to <dataDir>/dev-reloads.json; `importLegacyFile` moves it
 * into the table at the first start (then renames the file, so it is read once).
 */
import { readFile, rename } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import { DevReloadEntrySchema, type DevReloadEntry } from '@powerx/protocol';
import type { Db, DevReloadsTable } from '../storage/schema.ts';

export const MAX_PER_PLUGIN = 50;

export class DevReloadHistory {
  readonly #db: Db;
  readonly #log: Pick<Logger, 'warn'>;

  constructor(db: Db, log: Pick<Logger, 'warn'>) {
    this.#db = db;
    this.#log = log;
  }

  /**
   * Adds the reload, or updates the entry with the same id (a crash after the switch): the
   * update keeps the entry's place and time and any field the update does not carry.
   * A failed write is logged, never thrown: the reload itself is decided and reported already.
   */
  async record(tenant: string, pluginId: string, entry: DevReloadEntry): Promise<void> {
    try {
      await this.#db
        .insertInto('dev_reloads')
        .values(rowOf(tenant, pluginId, entry))
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            version: sql`coalesce(excluded.version, dev_reloads.version)`,
            install_id: sql`coalesce(excluded.install_id, dev_reloads.install_id)`,
            duration_ms: sql`coalesce(excluded.duration_ms, dev_reloads.duration_ms)`,
            result: sql`excluded.result`,
            rollback: sql`coalesce(excluded.rollback, dev_reloads.rollback)`,
          }),
        )
        .execute();
      await this.#prune(tenant, pluginId);
    } catch (error) {
      this.#log.warn({ err: error, tenant, pluginId, reload: entry.id }, 'dev reload history not saved');
    }
  }

  /** The plugin's reloads, newest first. */
  async list(tenant: string, pluginId: string): Promise<DevReloadEntry[]> {
    const rows = await this.#db
      .selectFrom('dev_reloads')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .orderBy('seq', 'desc')
      .limit(MAX_PER_PLUGIN)
      .execute();
    return rows.map(entryOf);
  }

  /** Plugins of the tenant that have a history, newest reload first. */
  async pluginsOf(tenant: string): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('dev_reloads')
      .select(['plugin_id', (eb) => eb.fn.max('seq').as('last')])
      .where('tenant_id', '=', tenant)
      .groupBy('plugin_id')
      .orderBy('last', 'desc')
      .execute();
    return rows.map((r) => r.plugin_id);
  }

  /**
   * Moves an older core's <dataDir>/dev-reloads.json into the table (entries already there are
   * left as they are, so several nodes or a repeated start import nothing twice) and renames the
   * file to `dev-reloads.json.imported`. A torn file is renamed too, and entries that do not match
   * DevReloadEntry are skipped: the audit log has everything. Never fails the start: when the
   * database refuses the rows, the file stays for the next start.
   */
  async importLegacyFile(file: string): Promise<void> {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    let saved: unknown;
    try {
      saved = JSON.parse(text);
    } catch (error) {
      this.#log.warn({ err: error, file }, 'dev reload history file unreadable; not imported');
    }
    try {
      const rows = legacyRows(saved);
      await this.#db.transaction().execute(async (tx) => {
        for (const row of rows)
          await tx
            .insertInto('dev_reloads')
            .values(row)
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
      });
      await rename(file, `${file}.imported`);
    } catch (error) {
      this.#log.warn(
        { err: error, file },
        'dev reload history file not imported; tried again at the next start',
      );
    }
  }

  /** Keeps the newest MAX_PER_PLUGIN of the plugin. */
  async #prune(tenant: string, pluginId: string): Promise<void> {
    const kept = this.#db
      .selectFrom('dev_reloads')
      .select('seq')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .orderBy('seq', 'desc')
      .limit(MAX_PER_PLUGIN);
    await this.#db
      .deleteFrom('dev_reloads')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .where('seq', 'not in', kept)
      .execute();
  }
}

type Row = Omit<DevReloadsTable, 'seq'>;

const isEntry = Compile(DevReloadEntrySchema);

/**
 * The rows of the file's `{ "<tenant>\0<plugin>": entries newest first }`. `seq` must keep its
 * orders: a plugin's entries go in oldest first, and the plugins in the order of their newest
 * reload (as the file-based history sorted them).
 */
function legacyRows(saved: unknown): Row[] {
  if (!saved || typeof saved !== 'object') return [];
  return Object.entries(saved as Record<string, unknown>)
    .map(([key, list]) => ({
      key,
      entries: (Array.isArray(list) ? list : []).filter((e) => isEntry.Check(e)).slice(0, MAX_PER_PLUGIN),
    }))
    .filter(({ key, entries }) => key.includes('\0') && entries.length)
    .sort((a, b) => a.entries[0].at.localeCompare(b.entries[0].at))
    .flatMap(({ key, entries }) => {
      const [tenant, pluginId] = key.split('\0');
      return entries.reverse().map((e) => rowOf(tenant, pluginId, e));
    });
}

function rowOf(tenant: string, pluginId: string, e: DevReloadEntry): Row {
  return {
    id: e.id,
    tenant_id: tenant,
    plugin_id: pluginId,
    at: e.at,
    version: e.version ?? null,
    install_id: e.installId ?? null,
    duration_ms: e.durationMs === undefined ? null : Math.round(e.durationMs),
    result: e.result,
    rollback: e.rollback ? JSON.stringify(e.rollback) : null,
  };
}

function entryOf(r: Row): DevReloadEntry {
  return {
    id: r.id,
    at: r.at,
    ...(r.version !== null ? { version: r.version } : {}),
    ...(r.install_id !== null ? { installId: r.install_id } : {}),
    ...(r.duration_ms !== null ? { durationMs: Number(r.duration_ms) } : {}),
    result: r.result as DevReloadEntry['result'],
    ...(r.rollback !== null ? { rollback: JSON.parse(r.rollback) as DevReloadEntry['rollback'] } : {}),
  };
}
