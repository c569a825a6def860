/**
 * Cluster nodes started together (docker compose up, a rolling deploy) open the same schema at the
 * same moment, often a schema that does not exist yet. PostgreSQL's `create schema if not exists`
 * is not safe against itself: two sessions can both miss the schema and one then fails with a
 * unique violation on pg_namespace. Every node must start, and the migrations run once.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresDatabase } from './open-postgres.ts';
import { TEST_DATABASE_URL } from './scratch-schema.ts';

const made: string[] = [];

afterAll(async () => {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    for (const schema of made) await c.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await c.end();
  }
});

describe('opening PostgreSQL', () => {
  it('lets six nodes open the same schema that does not exist yet together, and migrates it once', async () => {
    for (let round = 0; round < 3; round++) {
      const schema = `px_together_${randomBytes(5).toString('hex')}`;
      made.push(schema);
      const opened = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          openPostgresDatabase({ url: TEST_DATABASE_URL, schema, maxConnections: 2 }),
        ),
      );
      const failures = opened.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      for (const r of opened) if (r.status === 'fulfilled') await r.value.destroy();
      expect(failures).toEqual([]);
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        const { rows } = await c.query(`select count(*)::int as n from "${schema}".kysely_migration`);
        const { rows: names } = await c.query(
          `select count(distinct name)::int as n from "${schema}".kysely_migration`,
        );
        expect(rows[0].n).toBe(names[0].n);
        expect(rows[0].n).toBeGreaterThanOrEqual(10);
      } finally {
        await c.end();
      }
    }
  });
});
