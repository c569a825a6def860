/**
 * The store a test core runs on. The store-facing suites run once per entry of TEST_STORES:
 * the embedded SQLite file and PostgreSQL (a fresh `px_<random>` schema per run, dropped after).
 * `sql` runs raw statements against the same store, for tests that tamper with rows.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import pg from 'pg';
import { createScratchSchema, type ScratchSchema } from '@powerx/core';

export type StoreKind = 'sqlite' | 'postgres';
export const TEST_STORES: StoreKind[] = ['sqlite', 'postgres'];

export interface TestStore {
  kind: StoreKind;
  /** startCore options that select this store. */
  options: { databaseUrl?: string; databaseSchema?: string };
  /** Runs one statement (placeholders `?`), returns the rows. */
  sql(dataDir: string, text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  drop(): Promise<void>;
}

export async function openTestStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'sqlite')
    return {
      kind,
      options: {},
      async sql(dataDir, text, params = []) {
        const db = new DatabaseSync(join(dataDir, 'core.db'));
        try {
          const statement = db.prepare(text);
          return /^\s*select/i.test(text)
            ? (statement.all(...(params as never[])) as Array<Record<string, unknown>>)
            : (statement.run(...(params as never[])), []);
        } finally {
          db.close();
        }
      },
      async drop() {},
    };
  const scratch: ScratchSchema = await createScratchSchema();
  return {
    kind,
    options: { databaseUrl: scratch.url, databaseSchema: scratch.schema },
    async sql(_dataDir, text, params = []) {
      const client = new pg.Client({
        connectionString: scratch.url,
        options: `-c search_path=${scratch.schema}`,
      });
      await client.connect();
      try {
        let n = 0;
        return (
          await client.query(
            text.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows;
      } finally {
        await client.end();
      }
    },
    drop: () => scratch.drop(),
  };
}
