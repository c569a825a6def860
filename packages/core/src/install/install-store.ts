/**
 * Persistence of installs and their stages. The state column is the persisted state machine;
 * every transition closes the previous stage row with its duration and opens the next.
 */
import { randomUUID } from 'node:crypto';
import type { Install, InstallStage, Manifest, ValidationCheck } from '@powerx/protocol';
import type { Db, InstallsTable } from '../storage/schema.ts';
import { wizardOf } from './wizard.ts';

export type InstallRow = InstallsTable;
export const TERMINAL_STATES = ['running', 'failed', 'uninstalled'] as const;
/** States an install may wait in across a core restart; any other non-terminal state is rolled back on start. */
export const RESUMABLE_STATES = ['awaiting_config'] as const;

/** How a transition closes the open stage and opens the next one. */
export interface StageChange {
  closeOutcome?: 'ok' | 'failed' | 'waiting';
  code?: string | null;
  nextOutcome?: 'running' | 'waiting' | 'ok' | 'failed';
  /** The moment of the change (default: now); the recorder times the stage's audit entry with it. */
  at?: Date;
}

export class InstallStore {
  readonly #db: Db;
  readonly #nodeId: string | null;
  /** `nodeId`: set in a cluster, so each install records the node running it. */
  constructor(db: Db, opts: { nodeId?: string } = {}) {
    this.#db = db;
    this.#nodeId = opts.nodeId ?? null;
  }

  async create(input: {
    kind: InstallRow['kind'];
    tenant: string;
    actorId: string;
    idempotencyKey?: string | null;
    pluginId?: string | null;
    version?: string | null;
    packageBytes?: number;
    previousInstallId?: string | null;
    flow?: InstallRow['flow'];
  }): Promise<InstallRow> {
    const now = new Date().toISOString();
    const row: InstallRow = {
      id: randomUUID(),
      kind: input.kind,
      tenant_id: input.tenant,
      plugin_id: input.pluginId ?? null,
      version: input.version ?? null,
      state: 'received',
      actor_id: input.actorId,
      idempotency_key: input.idempotencyKey ?? null,
      package_sha256: null,
      package_bytes: input.packageBytes ?? 0,
      signer_key_id: null,
      unsigned: 0,
      manifest: null,
      config: null,
      secrets_enc: null,
      report: null,
      version_dir: null,
      staging_dir: null,
      created_data_dir: 0,
      previous_install_id: input.previousInstallId ?? null,
      flow: input.flow ?? 'upload',
      node_id: this.#nodeId,
      instance_id: null,
      instance_pid: null,
      error_code: null,
      error_stage: null,
      error_message: null,
      error_hint: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
      duration_ms: null,
    };
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('installs').values(row).execute();
      await trx
        .insertInto('install_stages')
        .values({
          install_id: row.id,
          stage: 'received',
          started_at: now,
          finished_at: null,
          duration_ms: null,
          outcome: 'running',
          code: null,
        })
        .execute();
    });
    return row;
  }

  async get(id: string): Promise<InstallRow | undefined> {
    return this.#db.selectFrom('installs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byIdempotencyKey(actorId: string, key: string): Promise<InstallRow | undefined> {
    return this.#db
      .selectFrom('installs')
      .selectAll()
      .where('actor_id', '=', actorId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  async update(id: string, patch: Partial<InstallRow>): Promise<void> {
    await this.#db
      .updateTable('installs')
      .set({ ...patch, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Closes the open stage (ok, or with `outcome`) and opens `next` unless it is terminal; in its
   * own transaction, or in `trx` (one that also writes the change's audit entry).
   */
  async transition(id: string, next: string, opts: StageChange = {}, trx?: Db): Promise<number | undefined> {
    if (trx) return this.#transition(trx, id, next, opts);
    return this.#db.transaction().execute((t) => this.#transition(t, id, next, opts));
  }

  async #transition(trx: Db, id: string, next: string, opts: StageChange): Promise<number | undefined> {
    const now = opts.at ?? new Date();
    let closedMs: number | undefined;
    const open = await trx
      .selectFrom('install_stages')
      .selectAll()
      .where('install_id', '=', id)
      .where('finished_at', 'is', null)
      .orderBy('id', 'desc')
      .execute();
    for (const stage of open) {
      const ms = now.getTime() - new Date(stage.started_at).getTime();
      closedMs ??= ms;
      await trx
        .updateTable('install_stages')
        .set({
          finished_at: now.toISOString(),
          duration_ms: ms,
          outcome: stage.outcome === 'waiting' ? 'ok' : (opts.closeOutcome ?? 'ok'),
          code: opts.closeOutcome === 'failed' ? (opts.code ?? null) : stage.code,
        })
        .where('id', '=', stage.id)
        .execute();
    }
    const outcome = opts.nextOutcome ?? 'running';
    const closed = outcome === 'ok' || outcome === 'failed';
    await trx
      .insertInto('install_stages')
      .values({
        install_id: id,
        stage: next,
        started_at: now.toISOString(),
        finished_at: closed ? now.toISOString() : null,
        duration_ms: closed ? 0 : null,
        outcome,
        code: outcome === 'failed' ? (opts.code ?? null) : null,
      })
      .execute();
    await trx
      .updateTable('installs')
      .set({ state: next, updated_at: now.toISOString(), node_id: this.#nodeId })
      .where('id', '=', id)
      .execute();
    return closedMs;
  }

  async stages(id: string): Promise<InstallStage[]> {
    const rows = await this.#db
      .selectFrom('install_stages')
      .selectAll()
      .where('install_id', '=', id)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      stage: r.stage,
      outcome: r.outcome,
      startedAt: r.started_at,
      ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
      ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}),
      ...(r.code ? { code: r.code } : {}),
    }));
  }

  async list(filter: { tenant: string; pluginId?: string; limit?: number }): Promise<InstallRow[]> {
    let q = this.#db.selectFrom('installs').selectAll().where('tenant_id', '=', filter.tenant);
    if (filter.pluginId) q = q.where('plugin_id', '=', filter.pluginId);
    return q
      .orderBy('created_at', 'desc')
      .limit(filter.limit ?? 50)
      .execute();
  }

  /** Every install (of any kind) a plugin ever had in the tenant. */
  async ofPlugin(tenant: string, pluginId: string): Promise<Array<Pick<InstallRow, 'id' | 'kind'>>> {
    return this.#db
      .selectFrom('installs')
      .select(['id', 'kind'])
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }

  async unfinished(): Promise<InstallRow[]> {
    return this.#db
      .selectFrom('installs')
      .selectAll()
      .where('state', 'not in', [...TERMINAL_STATES, ...RESUMABLE_STATES])
      .execute();
  }

  /** Another install of the same plugin in the same tenant that has not finished. */
  async otherInFlight(tenant: string, pluginId: string, exceptId: string): Promise<InstallRow | undefined> {
    return this.#db
      .selectFrom('installs')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .where('id', '!=', exceptId)
      .where('state', 'not in', [...TERMINAL_STATES])
      .executeTakeFirst();
  }

  async view(row: InstallRow, entryUrl: (tenant: string, pluginId: string) => string): Promise<Install> {
    const manifest = row.manifest ? (JSON.parse(row.manifest) as Manifest) : undefined;
    const config = row.config
      ? (JSON.parse(row.config) as {
          env: Record<string, string | number | boolean>;
          secrets: string[];
          logLevel: string;
          missing?: string[];
        })
      : undefined;
    const report = row.report ? (JSON.parse(row.report) as { checks: ValidationCheck[] }) : undefined;
    return {
      id: row.id,
      kind: row.kind,
      flow: row.flow,
      tenant: row.tenant_id,
      ...(row.plugin_id ? { pluginId: row.plugin_id } : {}),
      ...(row.version ? { version: row.version } : {}),
      state: row.state,
      actor: row.actor_id,
      ...(row.package_sha256 ? { packageSha256: row.package_sha256 } : {}),
      packageBytes: row.package_bytes,
      ...(row.signer_key_id ? { signerKeyId: row.signer_key_id } : {}),
      unsigned: row.unsigned === 1,
      ...(config ? { config: { env: config.env, secrets: config.secrets, logLevel: config.logLevel } } : {}),
      ...(report ? { checks: report.checks } : {}),
      ...(manifest ? { wizard: wizardOf(manifest) } : {}),
      ...(row.state === 'awaiting_config' && config?.missing ? { missingConfig: config.missing } : {}),
      stages: await this.stages(row.id),
      ...(row.error_code
        ? {
            error: {
              code: row.error_code,
              stage: row.error_stage ?? 'unknown',
              message: row.error_message ?? '',
              hint: row.error_hint ?? '',
            },
          }
        : {}),
      ...(row.state === 'running' && row.plugin_id
        ? { entryUrl: entryUrl(row.tenant_id, row.plugin_id) }
        : {}),
      ...(row.previous_install_id ? { previousInstallId: row.previous_install_id } : {}),
      createdAt: row.created_at,
      ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
      ...(row.duration_ms !== null ? { durationMs: row.duration_ms } : {}),
    };
  }
}
