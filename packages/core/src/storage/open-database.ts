/**
 * Opens the embedded database (SQLite file under the data dir, WAL mode) and migrates it.
 * The rest of core sees only `Db` (a Kysely instance), so a PostgreSQL dialect can replace this
 * file without touching the pipeline.
 */
import { DatabaseSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { Kysely, Migrator, type Migration, type MigrationProvider } from 'kysely';
import { NodeSqliteDialect } from './kysely-node-sqlite-dialect.ts';
import * as initial from './migrations/0001-initial.ts';
import * as installFlow from './migrations/0002-install-flow.ts';
import * as relativePaths from './migrations/0003-data-dir-relative-paths.ts';
import * as uninstalledHistory from './migrations/0004-uninstalled-history.ts';
import * as hostLimits from './migrations/0005-host-limits.ts';
import * as uninstallCleanups from './migrations/0006-uninstall-cleanups.ts';
import type { CoreDatabase, Db } from './schema.ts';
import { diskFullError, isDiskFull } from './disk-full.ts';
import { databaseCorrupt, isCorruption } from './database-check.ts';

/** Migrations are imported statically (no folder scan), so their order is the code's order. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-install-flow': installFlow,
  '0003-data-dir-relative-paths': relativePaths,
  '0004-uninstalled-history': uninstalledHistory,
  '0005-host-limits': hostLimits,
  '0006-uninstall-cleanups': uninstallCleanups,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export async function openSqliteDatabase(file: string): Promise<Db> {
  try {
    return await openAndMigrate(file);
  } catch (error) {
    if (isDiskFull(error)) throw diskFullError(error, 'opening and migrating the database', file);
    if (isCorruption(error) || isCorruption((error as Error).cause))
      throw databaseCorrupt(file, (error as Error).message, error);
    throw error;
  }
}

/** The SQLite handle under a `Db` opened here (the online backup needs SQLite's own backup API). */
const handles = new WeakMap<Db, DatabaseSync>();
export function sqliteHandleOf(db: Db): DatabaseSync | undefined {
  return handles.get(db);
}

async function openAndMigrate(file: string): Promise<Db> {
  restrictToOwner(file);
  const database = new DatabaseSync(file);
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA synchronous = NORMAL');
  database.exec('PRAGMA foreign_keys = ON');
  database.exec('PRAGMA busy_timeout = 5000');
  const db = new Kysely<CoreDatabase>({ dialect: new NodeSqliteDialect({ database }) });
  const { error, results } = await new Migrator({
    db,
    provider: new StaticMigrationProvider(),
    // Migrations are written on parallel branches and touch different tables: a database that
    // already ran a later-numbered one still gets an earlier one that arrived with a merge.
    allowUnorderedMigrations: true,
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(
      `Database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error | undefined)?.message ?? error)}`,
      { cause: error },
    );
  }
  handles.set(db, database);
  return db;
}

/**
 * The store holds password and token hashes and sealed secrets: owner-only (0600). SQLite gives
 * the -wal and -shm files the mode of the database file, so creating it 0600 covers them; files
 * of an older store are tightened too.
 */
function restrictToOwner(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}
