import { sql, type Kysely } from 'kysely';
import { dataDirRelative } from '../../config/core-paths.ts';

/**
 * Paths stored relative to the data dir. Older cores stored `installs.version_dir` and
 * `staging_dir` absolute, so a moved, copied or restored data dir pointed back at the old place
 * (and its start-up sweep deleted its own version folders). The relative part is recognised by
 * the layout of a data dir (`tenants/<t>/plugins/<p>/versions/<id>`, `staging/<name>`), so this
 * also works on a data dir that was moved before this migration ran.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const rows = await sql<{ id: string; version_dir: string | null; staging_dir: string | null }>`
    select id, version_dir, staging_dir from installs where version_dir like '/%' or staging_dir like '/%'
  `.execute(db);
  for (const row of rows.rows) {
    const versionDir = row.version_dir ? (dataDirRelative(row.version_dir) ?? row.version_dir) : null;
    const stagingDir = row.staging_dir ? (dataDirRelative(row.staging_dir) ?? row.staging_dir) : null;
    await sql`update installs set version_dir = ${versionDir}, staging_dir = ${stagingDir} where id = ${row.id}`.execute(
      db,
    );
  }
}

/** Relative paths cannot be made absolute again without knowing the data dir: nothing to undo. */
export async function down(): Promise<void> {}
