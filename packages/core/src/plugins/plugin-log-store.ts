/**
 * The runtime's log sink, persisted: lines are buffered and written in batches (a chatty plugin
 * must not turn every line into a transaction), then served by the logs endpoint and followed
 * by `px-plugin logs -f` through the `after` cursor.
 */
import type { PluginLogLine } from '@powerx/runtime';
import type { Db } from '../storage/schema.ts';
import {
  levelsFrom,
  toStoredLine,
  type LogPage,
  type LogQueryOptions,
  type PluginLogFeed,
} from './plugin-log-feed.ts';
import { LogLineBatcher } from './log-line-batcher.ts';
import { isDiskFull } from '../storage/disk-full.ts';

/** A disk that stays full fails every batch: one warning per interval, with the count of lines lost since the last one. */
const WARN_INTERVAL_MS = 10_000;

export interface PluginLogStoreOptions {
  /** Told when a batch could not be written (its lines are lost; live followers still saw them). */
  warn?: (details: { err: unknown; linesLost: number; code?: string }, msg: string) => void;
}

export class PluginLogStore implements PluginLogFeed {
  readonly #db: Db;
  readonly #batcher: LogLineBatcher;
  readonly #listeners = new Set<(line: PluginLogLine) => void>();
  readonly #warn: PluginLogStoreOptions['warn'];
  #lostSinceWarning = 0;
  #lastWarningAt = -Infinity;

  constructor(db: Db, opts: PluginLogStoreOptions = {}) {
    this.#db = db;
    this.#warn = opts.warn;
    this.#batcher = new LogLineBatcher({
      delayMs: 100,
      store: (batch) => this.#store(batch),
      failed: (error, batch) => this.#writeFailed(error, batch.length),
    });
  }

  write(line: PluginLogLine): void {
    this.#batcher.add(line);
    for (const listener of this.#listeners) listener(line);
  }

  onLine(listener: (line: PluginLogLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  async #store(batch: PluginLogLine[]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      for (let i = 0; i < batch.length; i += 200) {
        await trx
          .insertInto('plugin_logs')
          .values(
            batch.slice(i, i + 200).map((l) => {
              const { fields, ...line } = toStoredLine(l);
              return { ...line, fields: fields ? JSON.stringify(fields) : null };
            }),
          )
          .execute();
      }
    });
  }

  /** Plugin logs are best effort (a plugin must not stall on core's disk), but never silently. */
  #writeFailed(error: unknown, lines: number): void {
    this.#lostSinceWarning += lines;
    const now = performance.now();
    if (now - this.#lastWarningAt < WARN_INTERVAL_MS) return;
    this.#lastWarningAt = now;
    const linesLost = this.#lostSinceWarning;
    this.#lostSinceWarning = 0;
    this.#warn?.(
      { err: error, linesLost, ...(isDiskFull(error) ? { code: 'DISK_FULL' } : {}) },
      isDiskFull(error)
        ? 'plugin log lines were not stored: the disk is full'
        : 'plugin log lines were not stored',
    );
  }

  async query(tenant: string, plugin: string, opts: LogQueryOptions): Promise<LogPage> {
    await this.flush();
    let query = this.#db
      .selectFrom('plugin_logs')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('plugin', '=', plugin);
    if (opts.after !== undefined) query = query.where('id', '>', opts.after);
    if (opts.level) query = query.where('level', 'in', levelsFrom(opts.level));
    const limit = opts.limit ?? 500;
    // Without a cursor: the last `limit` lines; with one: the next `limit` lines after it.
    const rows =
      opts.after === undefined
        ? (await query.orderBy('id', 'desc').limit(limit).execute()).reverse()
        : await query.orderBy('id', 'asc').limit(limit).execute();
    const lines = rows.map(({ fields, ...line }) => ({
      ...line,
      ...(fields ? { fields: JSON.parse(fields) as Record<string, unknown> } : {}),
    }));
    return { lines, lastId: lines.length ? lines[lines.length - 1].id : (opts.after ?? 0) };
  }

  async dropPlugin(tenant: string, plugin: string): Promise<void> {
    await this.flush();
    await this.#db
      .deleteFrom('plugin_logs')
      .where('tenant', '=', tenant)
      .where('plugin', '=', plugin)
      .execute();
  }
}
