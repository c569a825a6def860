/**
 * For the store-facing unit suites: opens a migrated core database on each dialect — a SQLite
 * file in a temp folder, or a fresh PostgreSQL schema (`px_<random>`, dropped on close).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from './open-database.ts';
import { openPostgresDatabase } from './open-postgres.ts';
import { createScratchSchema } from './scratch-schema.ts';
import type { StoreDialect } from './dialect.ts';
import type { Db } from './schema.ts';

export const TEST_DIALECTS: StoreDialect[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  db: Db;
  /** Temp folder (SQLite file lives in it; usable for other files of the test). */
  dir: string;
  close(): Promise<void>;
}

export async function openTestDatabase(dialect: StoreDialect): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'px-db-'));
  if (dialect === 'sqlite') {
    const db = await openSqliteDatabase(join(dir, 'core.db'));
    return {
      db,
      dir,
      async close() {
        await db.destroy();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const scratch = await createScratchSchema();
  const db = await openPostgresDatabase({ url: scratch.url, schema: scratch.schema, maxConnections: 4 });
  return {
    db,
    dir,
    async close() {
      await db.destroy();
      await scratch.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
