/**
 * Opens the cluster's store: PostgreSQL through Kysely's PostgresDialect and a `pg` pool, in the
 * schema named by PX_DATABASE_SCHEMA (created if missing; default `public`), then migrates it.
 * Nodes starting together take turns (a session advisory lock per schema) for both steps:
 * `create schema if not exists` is not safe against itself in PostgreSQL (two sessions can both
 * miss the schema, and one fails on pg_namespace's unique index), and neither is creating the
 * migrator's own tables. Kysely's migrator then runs the migrations once, under its own lock.
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
  const turn = new pg.Client({ connectionString: options.url });
  try {
    await turn.connect();
    // hashtext is stable across servers and versions; the key names this use and this schema.
    await turn.query(`select pg_advisory_lock(hashtext('powerx.open-schema:' || $1::text))`, [schema]);
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    await turn.end().catch(() => {});
    await db.destroy();
    throw error;
  }
  try {
    await migrateToLatest(db, schema);
  } finally {
    // Ending the session releases the lock, also when the migration failed.
    await turn.end().catch(() => {});
  }
  return db;
}
