/**
 * Drops what is only kept for a while: plugin log lines and the details of audit entries of
 * sandbox (dev) tenants, older than the retention (7 days by default). Audit entries themselves
 * stay; their chain still verifies because details are hashed separately.
 */
import type { Db } from '../storage/schema.ts';

export interface SweepResult {
  logLinesDeleted: number;
  auditDetailsCleared: number;
}

export class RetentionSweeper {
  readonly #db: Db;
  readonly #retentionMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, retentionDays: number) {
    this.#db = db;
    this.#retentionMs = retentionDays * 86_400_000;
  }

  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => void this.sweep().catch(onError), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async sweep(now = new Date()): Promise<SweepResult> {
    const cutoff = new Date(now.getTime() - this.#retentionMs).toISOString();
    const logs = await this.#db.deleteFrom('plugin_logs').where('ts', '<', cutoff).executeTakeFirst();
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
