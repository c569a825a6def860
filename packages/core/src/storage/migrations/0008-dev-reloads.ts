import type { Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * `dev_reloads`: the dev reload history (dev/dev-reload-history.ts), in the core database so that
 * every node of a cluster lists and updates the same entries; before, each node kept its own
 * <dataDir>/dev-reloads.json (imported once at the first start after this migration).
 * `seq` orders a plugin's reloads (newest = highest); `id` is the reload id an update finds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = dialectOf(db) === 'postgres';
  await db.schema
    .createTable('dev_reloads')
    .addColumn('seq', 'integer', (c) =>
      postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('install_id', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('rollback', 'text')
    .execute();
  await db.schema
    .createIndex('dev_reloads_plugin_seq')
    .on('dev_reloads')
    .columns(['tenant_id', 'plugin_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dev_reloads').execute();
}
