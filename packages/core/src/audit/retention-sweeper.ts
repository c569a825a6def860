/**
 * Drops what is only kept for a while: plugin log lines and the details of audit entries of
 * sandbox (dev) tenants, each older than its retention (dev_policy.yaml retention.logDays and
 * retention.devAuditDays, 7 days by default; read at every sweep, so a re-read policy applies).
 * Audit entries themselves stay; their chain still verifies because details are hashed separately.
 */
import type { Db } from '../storage/schema.ts';

export interface SweepResult {
  logLinesDeleted: number;
  auditDetailsCleared: number;
}

export interface RetentionDays {
  logDays: number;
  devAuditDays: number;
}

export class RetentionSweeper {
  readonly #db: Db;
  readonly #days: () => RetentionDays;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, retention: number | (() => RetentionDays)) {
    this.#db = db;
    this.#days =
      typeof retention === 'number' ? () => ({ logDays: retention, devAuditDays: retention }) : retention;
  }

  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => void this.sweep().catch(onError), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async sweep(now = new Date()): Promise<SweepResult> {
    const { logDays, devAuditDays } = this.#days();
    const before = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
    const logs = await this.#db
      .deleteFrom('plugin_logs')
      .where('ts', '<', before(logDays))
      .executeTakeFirst();
    const cutoff = before(devAuditDays);
    const audit = await this.#db
      .updateTable('audit_log')
      .set({ details: null })
      .where('ts', '<', cutoff)
      .where('details', 'is not', null)
      .where('tenant', 'in', this.#db.selectFrom('tenants').select('id').where('kind', '=', 'sandbox'))
      .executeTakeFirst();
    return {
      logLinesDeleted: Number(logs.numDeletedRows),
      auditDetailsCleared: Number(audit.numUpdatedRows),
    };
  }
}
