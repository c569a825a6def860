import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * - `plugin_storage_usage`: the bytes of ctx.storage documents per (tenant, plugin), kept up to
 *   date by every write in the same transaction, so the storage quota is checked without scanning
 *   documents. Existing documents are counted once here.
 * - `tenants.created_by`: who created a tenant, for the per-user cap on tenant creation
 *   (existing tenants: their owner, when there is exactly one).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('plugin_storage_usage')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('plugin_storage_usage_pk', ['tenant_id', 'plugin_id'])
    .execute();
  // jsonb keeps no text: its canonical text is the closest count PostgreSQL can give here.
  const docBytes =
    dialectOf(db) === 'postgres' ? sql`octet_length(doc::text)` : sql`length(cast(doc as blob))`;
  await sql`insert into plugin_storage_usage (tenant_id, plugin_id, bytes)
    select tenant_id, plugin_id, sum(${docBytes}) from plugin_docs group by tenant_id, plugin_id`.execute(db);
  await db.schema.alterTable('tenants').addColumn('created_by', 'text').execute();
  await sql`update tenants set created_by = (
      select user_id from tenant_members m where m.tenant_id = tenants.id and m.role = 'owner'
    ) where (select count(*) from tenant_members m where m.tenant_id = tenants.id and m.role = 'owner') = 1`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('created_by').execute();
  await db.schema.dropTable('plugin_storage_usage').execute();
}
