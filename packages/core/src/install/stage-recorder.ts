/**
 * Every stage change of an install is persisted (install-store.ts) with its audit entry in one
 * transaction, timed (the stage duration histogram), logged, announced to the waiters and
 * published as live progress on the event bus (install-progress.ts). The awaiting_config stage
 * has a sub-state: "waiting" once the pipeline found values missing and parked the install there.
 */
import { PxError } from '@powerx/protocol';
import type { Db } from '../storage/schema.ts';
import type { AuditInput, AuditLog } from '../audit/audit-log.ts';
import type { CoreMetrics } from '../metrics/core-metrics.ts';
import type { StageChange } from './install-store.ts';
import { canEnter } from './stage-transitions.ts';
import { announceProgress, type ProgressDeps } from './install-progress.ts';

type TransitionOptions = StageChange & {
  /**
   * An audit entry committed with the change, in its transaction and before it (audit-log.ts
   * appendWith): no reader sees the new state without it, and a crash leaves both or neither.
   */
  auditedBy?: AuditInput;
};
type RecorderDeps = ProgressDeps & { db: Db; audit: AuditLog; metrics: CoreMetrics };

export class StageRecorder {
  readonly #d: RecorderDeps;
  readonly #changed: (installId: string) => void;
  readonly #actorNames = new Map<string, string>();

  constructor(deps: RecorderDeps, changed: (installId: string) => void) {
    this.#d = deps;
    this.#changed = changed;
  }

  async transition(id: string, next: string, opts: TransitionOptions = {}): Promise<void> {
    const row = await this.#d.db
      .selectFrom('installs')
      .select(['state', 'tenant_id', 'plugin_id', 'actor_id', 'kind'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (row && !canEnter(row.state, next))
      throw new PxError('INTERNAL', { ref: `install ${id} cannot go from ${row.state} to ${next}` });
    const open = await this.#d.db
      .selectFrom('install_stages')
      .select(['stage', 'started_at'])
      .where('install_id', '=', id)
      .where('finished_at', 'is', null)
      .orderBy('id')
      .execute();
    const { auditedBy, ...change } = opts;
    const at = new Date();
    // The stage's own entry is committed with it, like `auditedBy`: a reader (or a crash) never
    // sees an install in a stage whose entry is missing. Its timing is taken from the same moment
    // the store closes the previous stage with.
    const latest = open.at(-1);
    const previousMs = latest ? at.getTime() - new Date(latest.started_at).getTime() : undefined;
    const entries: AuditInput[] = auditedBy ? [auditedBy] : [];
    if (row)
      entries.push({
        actor: await this.actorName(row.actor_id),
        tenant: row.tenant_id,
        action: `plugin.${row.kind}.stage`,
        target: row.plugin_id ?? id,
        outcome: next === 'failed' || opts.closeOutcome === 'failed' ? 'failed' : 'ok',
        details: {
          installId: id,
          stage: next,
          previous: open.map((s) => s.stage),
          ...(previousMs !== undefined ? { previousMs } : {}),
          ...(opts.code ? { code: opts.code } : {}),
        },
      });
    const ms = await this.#d.audit.appendWith(entries, (trx) =>
      this.#d.store.transition(id, next, { ...change, at }, trx),
    );
    this.#d.log.info(
      {
        installId: id,
        stage: next,
        ...(ms !== undefined ? { previousMs: ms } : {}),
        ...(opts?.code ? { code: opts.code } : {}),
      },
      'install stage',
    );
    for (const s of open)
      if (ms !== undefined) this.#d.metrics.stageDuration.observe({ stage: s.stage }, ms / 1000);
    await this.announce(id);
    this.#changed(id);
  }

  /**
   * Publishes the install's persisted state as live progress: done by transition(), and by the
   * two changes that are no transition — the creation (received) and the switch (running).
   */
  announce(id: string): Promise<void> {
    return announceProgress(this.#d, id);
  }

  /** Parks the install in awaiting_config until someone submits the missing values. */
  async markWaiting(id: string): Promise<void> {
    await this.#setAwaitingConfigOutcome(id, 'waiting');
    await this.announce(id);
    this.#changed(id);
  }

  /** The missing values arrived: the install leaves its parked state and goes on. */
  async resumeFromWaiting(id: string): Promise<void> {
    await this.#setAwaitingConfigOutcome(id, 'running');
  }

  /** awaiting_config is settled only once the pipeline marked the stage "waiting" (values missing). */
  async isWaitingForConfig(id: string): Promise<boolean> {
    const open = await this.#d.db
      .selectFrom('install_stages')
      .select('outcome')
      .where('install_id', '=', id)
      .where('stage', '=', 'awaiting_config')
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    return open?.outcome === 'waiting';
  }

  /** Closes the open stages of a switched-in install, in the switch transaction, and times them. */
  async closeForSwitch(trx: Db, id: string, now: Date): Promise<void> {
    const open = await trx
      .selectFrom('install_stages')
      .select(['id', 'stage', 'started_at'])
      .where('install_id', '=', id)
      .where('finished_at', 'is', null)
      .execute();
    for (const s of open)
      await trx
        .updateTable('install_stages')
        .set({
          finished_at: now.toISOString(),
          duration_ms: now.getTime() - new Date(s.started_at).getTime(),
          outcome: 'ok',
        })
        .where('id', '=', s.id)
        .execute();
    // The last stage (seeding) closes here, not in transition(): observe its duration too.
    for (const s of open)
      this.#d.metrics.stageDuration.observe(
        { stage: s.stage },
        (now.getTime() - new Date(s.started_at).getTime()) / 1000,
      );
    await trx
      .insertInto('install_stages')
      .values({
        install_id: id,
        stage: 'running',
        started_at: now.toISOString(),
        finished_at: now.toISOString(),
        duration_ms: 0,
        outcome: 'ok',
        code: null,
      })
      .execute();
  }

  async actorName(userId: string): Promise<string> {
    let name = this.#actorNames.get(userId);
    if (!name) {
      name =
        (await this.#d.db.selectFrom('users').select('username').where('id', '=', userId).executeTakeFirst())
          ?.username ?? userId;
      this.#actorNames.set(userId, name);
    }
    return name;
  }

  async #setAwaitingConfigOutcome(id: string, outcome: 'waiting' | 'running'): Promise<void> {
    await this.#d.db
      .updateTable('install_stages')
      .set({ outcome })
      .where('install_id', '=', id)
      .where('stage', '=', 'awaiting_config')
      .where('finished_at', 'is', null)
      .execute();
  }
}
