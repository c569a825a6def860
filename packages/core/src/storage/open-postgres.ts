/**
 * Opens the cluster's store: PostgreSQL through Kysely's PostgresDialect and a `pg` pool, in the
 * schema named by PX_DATABASE_SCHEMA (created if missing; default `public`), then migrates it.
 * Kysely's migrator takes a PostgreSQL advisory lock, so nodes starting together migrate once.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import type { CoreDatabase, Db } from './schema.ts';

export interface PostgresStoreOptions {
  url: string;
  /** Schema that holds core's tables. */
  schema?: string;
  /** Pool size per node. */
  maxConnections?: number;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPostgresDatabase(options: PostgresStoreOptions): Promise<Db> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA.test(schema)) throw new Error(`Bad PostgreSQL schema name ${JSON.stringify(schema)}`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    options: `-c search_path=${schema}`,
  });
  // An idle client losing its server must not crash core; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<CoreDatabase>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  await migrateToLatest(db, schema);
  return db;
}
