/**
 * The few places where SQLite and PostgreSQL differ (JSON operators, identity columns, locking)
 * ask this, so every other query stays one Kysely query for both.
 */
import { PostgresAdapter, type Kysely } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

/** Works for any Kysely instance or transaction (only the executor's adapter is read). */
export function dialectOf<T>(db: Kysely<T>): StoreDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
