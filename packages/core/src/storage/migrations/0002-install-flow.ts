import { sql, type Kysely } from 'kysely';

/**
 * `installs.flow`: which of the two flows created the install — `upload` (a `.pxp` uploaded to
 * /api/plugins/install/local, or a rollback / reconfigure of one) or `dev` (px-plugin dev / the
 * Admin's "install from a local directory", POST /api/plugins/dev/install). Persisted so that
 * what depends on it survives a restart: the installs-per-minute quota counts uploads only,
 * recover() books an interrupted dev install under the dev metrics, and
 * scripts/qa/workflow-metrics.mjs splits durations by flow.
 *
 * Existing rows: dev installs are the ones unpacked into a content-addressed version folder
 * (`…/versions/c-<sha256 prefix>`, see docs/dev-mode.md); everything else was an upload.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('installs')
    .addColumn('flow', 'text', (c) => c.notNull().defaultTo('upload'))
    .execute();
  await sql`update installs set flow = 'dev' where version_dir like ${'%/versions/c-%'}`.execute(db);
  await db.schema
    .createIndex('installs_flow_created')
    .on('installs')
    .columns(['tenant_id', 'flow', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('installs_flow_created').execute();
  await db.schema.alterTable('installs').dropColumn('flow').execute();
}
