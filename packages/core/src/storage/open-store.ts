/** Picks the store: PostgreSQL when a database URL is configured, else the embedded SQLite file. */
import { openSqliteDatabase } from './open-database.ts';
import { openPostgresDatabase } from './open-postgres.ts';
import type { Db } from './schema.ts';

export interface StoreLocation {
  /** postgres://… (PX_DATABASE_URL); unset: SQLite at `sqliteFile`. */
  databaseUrl?: string;
  databaseSchema?: string;
  sqliteFile: string;
}

export function openStore(location: StoreLocation): Promise<Db> {
  return location.databaseUrl
    ? openPostgresDatabase({ url: location.databaseUrl, schema: location.databaseSchema })
    : openSqliteDatabase(location.sqliteFile);
}
