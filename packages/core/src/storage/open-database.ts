/**
 * Opens the embedded database (SQLite file under the data dir, WAL mode) and migrates it.
 * The rest of core sees only `Db` (a Kysely instance); open-postgres.ts is the cluster's twin.
 */
import { DatabaseSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { Kysely } from 'kysely';
import { NodeSqliteDialect } from './kysely-node-sqlite-dialect.ts';
import { migrateToLatest } from './migrate.ts';
import type { CoreDatabase, Db } from './schema.ts';
import { diskFullError, isDiskFull } from './disk-full.ts';
import { databaseCorrupt, isCorruption } from './database-check.ts';

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
  await migrateToLatest(db);
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
