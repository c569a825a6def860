/**
 * A throw-away PostgreSQL schema (`px_<random>`) for tests, benches and CI runs that share one
 * server: each run gets its own tables and drops them afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL =
  process.env.PX_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchSchema {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

export async function createScratchSchema(url = TEST_DATABASE_URL, prefix = 'px_'): Promise<ScratchSchema> {
  const schema = `${prefix}${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create schema "${schema}"`);
  } finally {
    await client.end();
  }
  return {
    url,
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await c.end();
      }
    },
  };
}
