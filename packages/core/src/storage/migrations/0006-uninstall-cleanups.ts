import type { Kysely } from 'kysely';

/**
 * `uninstall_cleanups`: an uninstall writes its row in the same transaction that removes the
 * plugin, and deletes it when the files, data and blobs are gone. A core killed in between finds
 * the row at its next start and finishes the job (install/uninstalled-sweep.ts), knowing whether
 * the data was to be kept (dev uninstall) — which the folders alone cannot tell.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('uninstall_cleanups')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('keep_data', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('uninstall_cleanups_pk', ['tenant_id', 'plugin_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('uninstall_cleanups').execute();
}
