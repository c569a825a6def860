/**
 * Drops what is only kept for a while: plugin log lines and the details of audit entries of
 * sandbox (dev) tenants, each older than its retention (dev_policy.yaml retention.logDays and
 * retention.devAuditDays, 7 days by default; read at every sweep, so a re-read policy applies).
 * Audit entries themselves stay; their chain still verifies because details are hashed separately.
 * Before clearing, a chained marker entry (audit.details.cleared) names the entries whose details
 * go, so verification tells a retention sweep from someone silently setting details to NULL.
 */
import type { Db } from '../storage/schema.ts';
import type { AuditLog } from './audit-log.ts';
import { RETENTION_ACTION, toRanges } from './audit-hash.ts';

const CHUNK = 500;

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
  readonly #audit: AuditLog;
  readonly #days: () => RetentionDays;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, audit: AuditLog, retention: number | (() => RetentionDays)) {
    this.#db = db;
    this.#audit = audit;
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
    const seqs = (
      await this.#db
        .selectFrom('audit_log')
        .select('seq')
        .where('ts', '<', cutoff)
        .where('details', 'is not', null)
        .where('tenant', 'in', this.#db.selectFrom('tenants').select('id').where('kind', '=', 'sandbox'))
        .orderBy('seq')
        .execute()
    ).map((r) => r.seq);
    if (seqs.length) {
      // The marker first: a crash after it leaves details that are still there (harmless), never
      // cleared details without a marker (which verification reports as tampering).
      await this.#audit.append({
        actor: 'core',
        action: RETENTION_ACTION,
        outcome: 'ok',
        details: { ranges: toRanges(seqs), before: cutoff },
      });
      for (let i = 0; i < seqs.length; i += CHUNK)
        await this.#db
          .updateTable('audit_log')
          .set({ details: null })
          .where('seq', 'in', seqs.slice(i, i + CHUNK))
          .execute();
    }
    return {
      logLinesDeleted: Number(logs.numDeletedRows),
      auditDetailsCleared: seqs.length,
    };
  }
}
