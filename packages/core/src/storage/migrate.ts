/** Runs the core migrations on either dialect; migrations are imported statically, in code order. */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './schema.ts';
import * as initial from './migrations/0001-initial.ts';
import * as installFlow from './migrations/0002-install-flow.ts';
import * as relativePaths from './migrations/0003-data-dir-relative-paths.ts';
import * as uninstalledHistory from './migrations/0004-uninstalled-history.ts';
import * as hostLimits from './migrations/0005-host-limits.ts';
import * as uninstallCleanups from './migrations/0006-uninstall-cleanups.ts';
import * as installNode from './migrations/0007-install-node.ts';
import * as devReloads from './migrations/0008-dev-reloads.ts';
import * as pluginUninstalls from './migrations/0009-plugin-uninstalls.ts';
import * as failoverAttempts from './migrations/0010-failover-attempts.ts';

const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-install-flow': installFlow,
  '0003-data-dir-relative-paths': relativePaths,
  '0004-uninstalled-history': uninstalledHistory,
  '0005-host-limits': hostLimits,
  '0006-uninstall-cleanups': uninstallCleanups,
  '0007-install-node': installNode,
  '0008-dev-reloads': devReloads,
  '0009-plugin-uninstalls': pluginUninstalls,
  '0010-failover-attempts': failoverAttempts,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/**
 * Migrates to the latest schema; throws (after closing `db`) when a migration fails.
 * `schema` (PostgreSQL): where the migrator's own tables live. It must be named, because the
 * migrator looks for them in every schema of the database and would take another schema's
 * (another deployment's, another test run's) for ours.
 */
export async function migrateToLatest(db: Db, schema?: string): Promise<void> {
  const { error, results } = await new Migrator({
    db: db as unknown as Kysely<unknown>,
    provider: new StaticMigrationProvider(),
    // Migrations are written on parallel branches and touch different tables: a database that
    // already ran a later-numbered one still gets an earlier one that arrived with a merge.
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(
      `Database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error | undefined)?.message ?? error)}`,
      { cause: error },
    );
  }
}
