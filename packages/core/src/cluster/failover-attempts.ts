/**
 * How often a plugin whose node was lost is tried before it is marked failed (docs/operations.md,
 * "Cluster: failover and drain"). A failover start that fails (a loaded machine missing the health
 * deadline, a version folder that cannot be unpacked there) says little about the plugin: the
 * lease is freed and another attempt follows —
 *
 * - at most FAILOVER_ATTEMPTS starts cluster-wide since the plugin last served, counted in the
 *   shared database (`failover_attempts`) so the count outlives the node that claimed it;
 * - a node that tried already leaves the next attempt to a live node that has not, and tries
 *   again itself only after a backoff (FAILOVER_BACKOFF_MS, doubling per attempt);
 * - every attempt but the last starts the active version only, with no verdict; the last one is a
 *   full start (falling back to the last stable version), and when it fails too the plugin is
 *   failed with FAILOVER_EXHAUSTED naming the attempts and nodes (install-pipeline.ts failPlugin:
 *   reason and audit entry in one transaction).
 *
 * A plugin that can never start thus ends failed after FAILOVER_ATTEMPTS starts and at most
 * FAILOVER_BACKOFF_MS * (2^(FAILOVER_ATTEMPTS-1) - 1) of backoff, not in a loop.
 */
import { PxError } from '@powerx/protocol';
import type { Logger } from 'pino';
import type { Db } from '../storage/schema.ts';
import type { PluginFailure } from '../plugins/plugin-repository.ts';

export const FAILOVER_ATTEMPTS = 3;
export const FAILOVER_BACKOFF_MS = 2000;

export interface FailoverAttempt {
  node: string;
  at: string;
}

/** `try`: an attempt with no verdict; `final`: the last one, a failure marks the plugin failed. */
export type FailoverDecision = 'try' | 'final' | 'wait';

export class FailoverAttempts {
  readonly #db: Db;
  readonly #nodeId: string;

  constructor(db: Db, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
  }

  /** May this node start the plugin now, and is it the last attempt? `live`: nodes heartbeating. */
  async decide(tenant: string, pluginId: string, live: Iterable<string>): Promise<FailoverDecision> {
    const attempts = await this.list(tenant, pluginId);
    const mine = attempts.filter((a) => a.node === this.#nodeId);
    if (mine.length) {
      const tried = new Set(attempts.map((a) => a.node));
      for (const node of live) if (node !== this.#nodeId && !tried.has(node)) return 'wait';
      const backoff = FAILOVER_BACKOFF_MS * 2 ** (attempts.length - 1);
      if (Date.now() < Date.parse(attempts.at(-1)!.at) + backoff) return 'wait';
    }
    return attempts.length >= FAILOVER_ATTEMPTS - 1 ? 'final' : 'try';
  }

  async list(tenant: string, pluginId: string): Promise<FailoverAttempt[]> {
    const row = await this.#db
      .selectFrom('failover_attempts')
      .select('attempts')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    return row ? (JSON.parse(row.attempts) as FailoverAttempt[]) : [];
  }

  /** Records a failed start here (only the lease holder writes: no concurrent writer). */
  async failed(tenant: string, pluginId: string): Promise<FailoverAttempt[]> {
    const attempts = [
      ...(await this.list(tenant, pluginId)),
      { node: this.#nodeId, at: new Date().toISOString() },
    ];
    const json = JSON.stringify(attempts);
    await this.#db
      .insertInto('failover_attempts')
      .values({ tenant_id: tenant, plugin_id: pluginId, attempts: json })
      .onConflict((oc) => oc.columns(['tenant_id', 'plugin_id']).doUpdateSet({ attempts: json }))
      .execute();
    return attempts;
  }

  /** The plugin serves (a failover start succeeded, or a switch put a new instance in): start over. */
  async clear(tenant: string, pluginId: string): Promise<void> {
    await this.#db
      .deleteFrom('failover_attempts')
      .where('tenant_id', '=', tenant)
      .where('plugin_id', '=', pluginId)
      .execute();
  }

  /**
   * Counts a failed start here; after the last one, says why the plugin is to be failed
   * (FAILOVER_EXHAUSTED naming the attempts and nodes), for the pipeline to mark and audit.
   */
  async failedStart(
    tenant: string,
    pluginId: string,
    last: boolean,
    log: Logger,
  ): Promise<{ failure: PluginFailure; attempts: FailoverAttempt[] } | undefined> {
    const attempts = await this.failed(tenant, pluginId);
    const nodes = attempts.map((a) => a.node);
    if (!last) {
      log.warn({ tenant, pluginId, attempts: nodes }, 'failover start failed: left to another attempt');
      return undefined;
    }
    const error = new PxError('FAILOVER_EXHAUSTED', {
      attempts: attempts.length,
      nodes: [...new Set(nodes)].join(', '),
    });
    log.error(
      { tenant, pluginId, attempts: nodes, code: error.code },
      'failover start failed on every attempt: plugin marked failed',
    );
    return {
      failure: { code: error.code, stage: 'failover', message: error.message, hint: error.hint },
      attempts,
    };
  }
}
