import { sql, type Kysely } from 'kysely';

/**
 * Install history of an uninstalled plugin: uninstall now marks its installs `uninstalled`; rows
 * left by older cores still said `running` for a plugin that no longer exists.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    update installs set state = 'uninstalled'
    where state = 'running' and plugin_id is not null
      and not exists (select 1 from plugins p where p.tenant_id = installs.tenant_id and p.plugin_id = installs.plugin_id)
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`update installs set state = 'running' where state = 'uninstalled'`.execute(db);
}
