import { describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, sql } from 'kysely';
import { NodeSqliteDialect } from './kysely-node-sqlite-dialect.ts';

interface Db {
  t: { id: number; name: string; flag: number | null };
}

function open(): Kysely<Db> {
  const database = new DatabaseSync(':memory:');
  database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, flag INTEGER)');
  return new Kysely<Db>({ dialect: new NodeSqliteDialect({ database }) });
}

describe('Kysely over node:sqlite', () => {
  it('inserts, selects, updates and reports affected rows', async () => {
    const db = open();
    const inserted = await db.insertInto('t').values({ id: 1, name: 'a', flag: null }).executeTakeFirst();
    expect(inserted.insertId).toBe(1n);
    const updated = await db.updateTable('t').set({ name: 'b' }).where('id', '=', 1).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([{ id: 1, name: 'b', flag: null }]);
    await db.destroy();
  });

  it('binds booleans as integers and reads RETURNING rows', async () => {
    const db = open();
    const row = await db
      .insertInto('t')
      .values({ id: 2, name: 'x', flag: sql<number>`${true}` })
      .returning(['id', 'flag'])
      .executeTakeFirst();
    expect(row).toEqual({ id: 2, flag: 1 });
    await db.destroy();
  });

  it('a transaction SQLite already rolled back (disk full) fails with the full-disk error, not "no transaction is active"', async () => {
    const database = new DatabaseSync(':memory:');
    database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, flag INTEGER)');
    const db = new Kysely<Db>({ dialect: new NodeSqliteDialect({ database }) });
    // A database that may not grow past a few pages fills up like a full disk (SQLITE_FULL).
    database.exec('PRAGMA max_page_count = 3');
    const error = await db
      .transaction()
      .execute(async (trx) => {
        for (let i = 0; i < 100; i++)
          await trx
            .insertInto('t')
            .values({ id: i, name: 'x'.repeat(2000), flag: null })
            .execute();
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ errcode: 13, message: 'database or disk is full' });
    expect(database.isTransaction).toBe(false);
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([]);
    await db.destroy();
  });

  it('rolls a failed transaction back', async () => {
    const db = open();
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 3, name: 'in tx', flag: null }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([]);
    await db.destroy();
  });

  it('serializes concurrent queries on the single connection', async () => {
    const db = open();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db
          .insertInto('t')
          .values({ id: i + 10, name: `n${i}`, flag: null })
          .execute(),
      ),
    );
    const { n } = (await db
      .selectFrom('t')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst())!;
    expect(n).toBe(50);
    await db.destroy();
  });

  it('streams select results', async () => {
    const db = open();
    await db
      .insertInto('t')
      .values([
        { id: 1, name: 'a', flag: null },
        { id: 2, name: 'b', flag: null },
      ])
      .execute();
    const names: string[] = [];
    for await (const row of db.selectFrom('t').select('name').orderBy('id').stream()) names.push(row.name);
    expect(names).toEqual(['a', 'b']);
    await db.destroy();
  });
});
