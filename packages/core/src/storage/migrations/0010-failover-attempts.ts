import type { Kysely } from 'kysely';

/**
 * `failover_attempts`: the failed failover starts of a plugin since it last served (cluster/
 * failover-attempts.ts), as a JSON list of {node, at}. In the shared database so that the count
 * outlives the node that claimed the plugin: a start that fails is retried on another node (or
 * later) a bounded number of times before the plugin is marked failed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('failover_attempts')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('attempts', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('failover_attempts_pk', ['tenant_id', 'plugin_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('failover_attempts').execute();
}
