import type { Kysely } from 'kysely';

/**
 * `plugin_uninstalls`: the last uninstall of each plugin and whether it kept the data, written in
 * the uninstall's own transaction and never cleaned up (one small row per plugin ever uninstalled).
 * In a cluster the uninstall event reaches only running nodes; a node that was down finds here,
 * at its next start, whether the data folder it still holds goes (install/uninstalled-sweep.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('plugin_uninstalls')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('keep_data', 'integer', (c) => c.notNull())
    .addColumn('uninstalled_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('plugin_uninstalls_pk', ['tenant_id', 'plugin_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('plugin_uninstalls').execute();
}
