/**
 * Table types of the core database. SQLite is the embedded default; the same Kysely queries
 * run on PostgreSQL (JSON is stored as text, times as ISO strings, booleans as 0/1 integers).
 */
import type { Generated, Kysely } from 'kysely';

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  /** JSON array of permission names. */
  permissions: string;
  created_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface TenantsTable {
  id: string;
  name: string;
  kind: 'sandbox' | 'production';
  allow_unsigned: number;
  created_at: string;
  /** The user who created it (migration 0003-host-limits); null for tenants made at bootstrap. */
  created_by: string | null;
}

export interface TenantMembersTable {
  tenant_id: string;
  user_id: string;
  role: string;
  created_at: string;
}

export interface SigningKeysTable {
  key_id: string;
  user_id: string;
  name: string;
  public_key_pem: string;
  created_at: string;
}

export interface InstallsTable {
  id: string;
  kind: 'install' | 'reconfigure' | 'rollback';
  tenant_id: string;
  /** Unknown until the manifest is read. */
  plugin_id: string | null;
  version: string | null;
  state: string;
  actor_id: string;
  idempotency_key: string | null;
  package_sha256: string | null;
  package_bytes: number;
  signer_key_id: string | null;
  unsigned: number;
  manifest: string | null;
  /** JSON of the non-secret wizard values: { env, logLevel }. */
  config: string | null;
  /** AES-256-GCM box of the secret values (JSON), never returned. */
  secrets_enc: string | null;
  /** JSON ValidationReport (checks) of the validating stage. */
  report: string | null;
  /** Folders this install created, so rollback removes exactly those. */
  version_dir: string | null;
  staging_dir: string | null;
  created_data_dir: number;
  previous_install_id: string | null;
  /** The instance this install started, so a crash recovery can stop a leftover process. */
  instance_id: string | null;
  instance_pid: number | null;
  error_code: string | null;
  error_stage: string | null;
  error_message: string | null;
  error_hint: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** upload | dev: the flow that created it (migration 0002-install-flow). */
  flow: 'upload' | 'dev';
  /** The node that last moved the install along (migration 0007-install-node); null: single node. */
  node_id: string | null;
}

export interface InstallStagesTable {
  id: Generated<number>;
  install_id: string;
  stage: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  outcome: 'running' | 'ok' | 'failed' | 'waiting';
  code: string | null;
}

/** One row per plugin installed in a tenant: which install serves and which is the last stable. */
export interface PluginsTable {
  tenant_id: string;
  plugin_id: string;
  active_install_id: string;
  active_version: string;
  last_stable_install_id: string | null;
  last_stable_version: string | null;
  status: string;
  memory_mb: number;
  disk_mb: number;
  cpu_percent: number;
  package_bytes: number;
  installed_at: string;
  updated_at: string;
}

export interface PluginDocsTable {
  tenant_id: string;
  plugin_id: string;
  collection: string;
  id: string;
  doc: string;
  /** The install that generated the document as test data (removed if that install rolls back). */
  seeded_by: string | null;
  created_at: string;
  updated_at: string;
}

/** Running byte count of a plugin's ctx.storage documents (kept by PluginStorage, never scanned). */
export interface PluginStorageUsageTable {
  tenant_id: string;
  plugin_id: string;
  bytes: number;
}

export interface AuditLogTable {
  seq: Generated<number>;
  ts: string;
  actor: string;
  tenant: string | null;
  action: string;
  target: string | null;
  outcome: string;
  /** JSON details; emptied by the retention sweeper (its hash stays, so the chain still verifies). */
  details: string | null;
  details_hash: string;
  prev_hash: string;
  hash: string;
}

export interface PluginLogsTable {
  id: Generated<number>;
  ts: string;
  tenant: string;
  plugin: string;
  version: string;
  instance: string;
  level: string;
  msg: string;
  fields: string | null;
  source: string;
}

/** An uninstall committed but not yet cleaned up (storage/migrations/0006-uninstall-cleanups.ts). */
export interface UninstallCleanupsTable {
  tenant_id: string;
  plugin_id: string;
  keep_data: number;
  created_at: string;
}

/** The last uninstall of a plugin (migration 0009-plugin-uninstalls): did it keep the data? */
export interface PluginUninstallsTable {
  tenant_id: string;
  plugin_id: string;
  keep_data: number;
  uninstalled_at: string;
}

/** Failed failover starts of a plugin since it last served (migration 0010-failover-attempts). */
export interface FailoverAttemptsTable {
  tenant_id: string;
  plugin_id: string;
  /** JSON: [{node, at}], oldest first. */
  attempts: string;
}

/** One dev reload (migration 0008-dev-reloads); the last 50 per plugin are kept. */
export interface DevReloadsTable {
  /** Order of recording: a plugin's newest reload has the highest. */
  seq: Generated<number>;
  /** The reload id (`dr_…`): a crash in the grace window updates the row with this id. */
  id: string;
  tenant_id: string;
  plugin_id: string;
  at: string;
  version: string | null;
  install_id: string | null;
  duration_ms: number | null;
  result: string;
  /** JSON of DevReloadEntry.rollback; null for a reload that serves. */
  rollback: string | null;
}

export interface CoreDatabase {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  tenants: TenantsTable;
  tenant_members: TenantMembersTable;
  signing_keys: SigningKeysTable;
  installs: InstallsTable;
  install_stages: InstallStagesTable;
  plugins: PluginsTable;
  plugin_docs: PluginDocsTable;
  plugin_storage_usage: PluginStorageUsageTable;
  audit_log: AuditLogTable;
  plugin_logs: PluginLogsTable;
  uninstall_cleanups: UninstallCleanupsTable;
  plugin_uninstalls: PluginUninstallsTable;
  failover_attempts: FailoverAttemptsTable;
  dev_reloads: DevReloadsTable;
}

export type Db = Kysely<CoreDatabase>;
