/**
 * A per-key lock that holds across every node sharing one PostgreSQL store: a session advisory
 * lock (namespace, hashtext(key)) on a connection of its own, taken after the node-local mutex
 * (so a node queues its own callers without spending connections). Installs of one tenant are
 * serialized this way whichever node they came through; bootstrap runs once at a time.
 */
import { sql } from 'kysely';
import type { Db } from '../storage/schema.ts';
import { dialectOf } from '../storage/dialect.ts';
import { KeyedMutex } from '../install/keyed-mutex.ts';

export const LOCK_NAMESPACE = { tenant: 7_301_002, bootstrap: 7_301_003 } as const;

export class StoreLock {
  readonly #db: Db;
  readonly #namespace: number;
  readonly #local = new KeyedMutex();

  constructor(db: Db, namespace: number) {
    this.#db = db;
    this.#namespace = namespace;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#local.run(key, async () => {
      if (dialectOf(this.#db) !== 'postgres') return fn();
      return this.#db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${this.#namespace}, hashtext(${key}))`.execute(conn);
        try {
          return await fn();
        } finally {
          await sql`select pg_advisory_unlock(${this.#namespace}, hashtext(${key}))`.execute(conn);
        }
      });
    });
  }
}
