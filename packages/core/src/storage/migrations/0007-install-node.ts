import type { Kysely } from 'kysely';

/**
 * `installs.node_id`: the core node that last moved the install along (PX_NODE_ID). With several
 * nodes on one store, a node's crash recovery must roll back only its own unfinished installs
 * and those of nodes that are gone — never one another live node is running. Null on installs
 * made before this migration and on single-node cores, which own every install.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('installs').addColumn('node_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('installs').dropColumn('node_id').execute();
}
