import { sql, type ColumnDefinitionBuilder, type Kysely } from 'kysely';
import { dialectOf } from '../dialect.ts';

/**
 * The first schema, for SQLite and PostgreSQL alike. Two columns differ by dialect: generated
 * integer keys (SQLite's autoincrement, PostgreSQL's identity) and plugin documents (JSON text
 * in SQLite, jsonb in PostgreSQL so filters run on the server's JSON operators).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = dialectOf(db) === 'postgres';
  const generatedKey = (c: ColumnDefinitionBuilder) =>
    postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement();
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('allow_unsigned', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('tenant_members')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tenant_members_pk', ['tenant_id', 'user_id'])
    .execute();
  await db.schema
    .createTable('signing_keys')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key_pem', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('signing_keys_pk', ['user_id', 'key_id'])
    .execute();
  await db.schema
    .createTable('installs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text')
    .addColumn('version', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('package_sha256', 'text')
    .addColumn('package_bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('signer_key_id', 'text')
    .addColumn('unsigned', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('manifest', 'text')
    .addColumn('config', 'text')
    .addColumn('secrets_enc', 'text')
    .addColumn('report', 'text')
    .addColumn('version_dir', 'text')
    .addColumn('staging_dir', 'text')
    .addColumn('created_data_dir', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('previous_install_id', 'text')
    .addColumn('instance_id', 'text')
    .addColumn('instance_pid', 'integer')
    .addColumn('error_code', 'text')
    .addColumn('error_stage', 'text')
    .addColumn('error_message', 'text')
    .addColumn('error_hint', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('duration_ms', 'integer')
    .execute();
  await db.schema
    .createIndex('installs_tenant_plugin')
    .on('installs')
    .columns(['tenant_id', 'plugin_id'])
    .execute();
  await db.schema.createIndex('installs_state').on('installs').column('state').execute();
  await db.schema
    .createIndex('installs_idempotency')
    .on('installs')
    .columns(['actor_id', 'idempotency_key'])
    .unique()
    .where(sql.ref('idempotency_key'), 'is not', null)
    .execute();
  await db.schema
    .createTable('install_stages')
    .addColumn('id', 'integer', generatedKey)
    .addColumn('install_id', 'text', (c) => c.notNull().references('installs.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .execute();
  await db.schema.createIndex('install_stages_install').on('install_stages').column('install_id').execute();
  await db.schema
    .createTable('plugins')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('active_install_id', 'text', (c) => c.notNull())
    .addColumn('active_version', 'text', (c) => c.notNull())
    .addColumn('last_stable_install_id', 'text')
    .addColumn('last_stable_version', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('disk_mb', 'integer', (c) => c.notNull())
    .addColumn('cpu_percent', 'integer', (c) => c.notNull())
    .addColumn('package_bytes', 'integer', (c) => c.notNull())
    .addColumn('installed_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('plugins_pk', ['tenant_id', 'plugin_id'])
    .execute();
  await db.schema
    .createTable('plugin_docs')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('plugin_id', 'text', (c) => c.notNull())
    .addColumn('collection', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('doc', postgres ? 'jsonb' : 'text', (c) => c.notNull())
    .addColumn('seeded_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('plugin_docs_pk', ['tenant_id', 'plugin_id', 'collection', 'id'])
    .execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'integer', generatedKey)
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('details', 'text')
    .addColumn('details_hash', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_tenant').on('audit_log').columns(['tenant', 'seq']).execute();
  await db.schema
    .createTable('plugin_logs')
    .addColumn('id', 'integer', generatedKey)
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('plugin', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('instance', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('msg', 'text', (c) => c.notNull())
    .addColumn('fields', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('plugin_logs_tenant_plugin')
    .on('plugin_logs')
    .columns(['tenant', 'plugin', 'id'])
    .execute();
  await db.schema.createIndex('plugin_logs_ts').on('plugin_logs').column('ts').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'plugin_logs',
    'audit_log',
    'plugin_docs',
    'plugins',
    'install_stages',
    'installs',
    'signing_keys',
    'tenant_members',
    'tenants',
    'api_tokens',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
