/**
 * Drops what is only kept for a while: plugin log lines and the details of audit entries of
 * sandbox (dev) tenants, older than the retention (7 days by default). Audit entries themselves
 * stay; their chain still verifies because details are hashed separately. Before clearing, a
 * chained marker entry (audit.details.cleared) names the entries whose details go, so verification
 * tells a retention sweep from someone silently setting details to NULL.
 */
import type { Db } from '../storage/schema.ts';
import type { AuditLog } from './audit-log.ts';
import { RETENTION_ACTION, toRanges } from './audit-hash.ts';

const CHUNK = 500;

export interface SweepResult {
  logLinesDeleted: number;
  auditDetailsCleared: number;
}

export class RetentionSweeper {
  readonly #db: Db;
  readonly #audit: AuditLog;
  readonly #retentionMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, audit: AuditLog, retentionDays: number) {
    this.#db = db;
    this.#audit = audit;
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
