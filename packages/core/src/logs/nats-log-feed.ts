/**
 * Plugin and dev log lines on the `<prefix>_logs` JetStream stream, one subject per (tenant,
 * plugin). The stream's `max_age` is the retention, so old lines go without a sweeper; the stream
 * sequence is the line id, one order for every node, so a `plugin.dev.logs` subscriber or
 * `px-plugin logs -f` on any node resumes with the same cursor and sees no gap or duplicate.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { PluginLogLine } from '@powerx/runtime';
import type { NatsCluster } from '../cluster/nats-cluster.ts';
import { LogLineBatcher } from '../plugins/log-line-batcher.ts';
import {
  levelsFrom,
  toStoredLine,
  type LogPage,
  type LogQueryOptions,
  type PluginLogFeed,
  type StoredLogLine,
} from '../plugins/plugin-log-feed.ts';

const READ_CHUNK = 1000;

type WireLine = Omit<StoredLogLine, 'id'>;

export class NatsLogFeed implements PluginLogFeed {
  readonly #nats: NatsCluster;
  readonly #batcher: LogLineBatcher;
  readonly #listeners = new Set<(line: PluginLogLine) => void>();
  #live: Subscription | undefined;

  constructor(nats: NatsCluster) {
    this.#nats = nats;
    this.#batcher = new LogLineBatcher({
      delayMs: 20,
      // Published back to back on one connection: the server stores them in this order.
      store: async (batch) => {
        await Promise.all(
          batch.map((l) =>
            this.#nats.js.publish(
              this.#nats.names.logSubject(l.tenant, l.plugin),
              JSON.stringify(toStoredLine(l) satisfies WireLine),
            ),
          ),
        );
      },
      failed: () => {},
    });
  }

  write(line: PluginLogLine): void {
    this.#batcher.add(line);
  }

  /** Lines of every node, as they are stored (a plain subscription on the stream's subjects). */
  onLine(listener: (line: PluginLogLine) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#live) {
      const sub = this.#nats.nc.subscribe(this.#nats.names.logsWildcard);
      this.#live = sub;
      void (async () => {
        for await (const m of sub) {
          let line: PluginLogLine;
          try {
            line = m.json<PluginLogLine>();
          } catch {
            continue;
          }
          for (const l of this.#listeners) l(line);
        }
      })();
    }
    return () => {
      this.#listeners.delete(listener);
      if (!this.#listeners.size) {
        this.#live?.unsubscribe();
        this.#live = undefined;
      }
    };
  }

  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  async query(tenant: string, plugin: string, opts: LogQueryOptions): Promise<LogPage> {
    await this.flush();
    const subject = this.#nats.names.logSubject(tenant, plugin);
    const levels = new Set(levelsFrom(opts.level));
    const limit = Math.max(opts.limit ?? 500, 1);
    if (opts.after !== undefined) {
      // The next `limit` wanted lines after the cursor; the cursor moves past filtered-out lines too.
      const lines: StoredLogLine[] = [];
      let cursor = opts.after;
      while (lines.length < limit) {
        const chunk = await this.#readFrom(subject, cursor + 1, READ_CHUNK);
        if (!chunk.length) break;
        for (const line of chunk) {
          if (lines.length >= limit) break;
          cursor = line.id;
          if (levels.has(line.level)) lines.push(line);
        }
        if (chunk.length < READ_CHUNK) break;
      }
      return { lines, lastId: lines.length ? lines[lines.length - 1].id : opts.after };
    }
    const last = await this.#lastSeq(subject);
    if (!last) return { lines: [], lastId: 0 };
    // The stream is read forwards only: widen a window back from the newest line until it holds enough.
    let window = Math.max(limit * 4, 256);
    for (;;) {
      const start = Math.max(1, last - window + 1);
      const lines = (await this.#readRange(subject, start, last)).filter((l) => levels.has(l.level));
      if (lines.length >= limit || start === 1) {
        const page = lines.slice(-limit);
        return { lines: page, lastId: page.length ? page[page.length - 1].id : 0 };
      }
      window *= 8;
    }
  }

  async dropPlugin(tenant: string, plugin: string): Promise<void> {
    await this.flush();
    await this.#nats.jsm.streams.purge(this.#nats.names.logsStream, {
      filter: this.#nats.names.logSubject(tenant, plugin),
    });
  }

  close(): void {
    this.#live?.unsubscribe();
    this.#live = undefined;
    this.#listeners.clear();
  }

  async #lastSeq(subject: string): Promise<number> {
    const m = await this.#nats.jsm.direct.getMessage(this.#nats.names.logsStream, { last_by_subj: subject });
    return m?.seq ?? 0;
  }

  async #readRange(subject: string, from: number, to: number): Promise<StoredLogLine[]> {
    const out: StoredLogLine[] = [];
    let next = from;
    for (;;) {
      const chunk = await this.#readFrom(subject, next, READ_CHUNK);
      for (const line of chunk) if (line.id <= to) out.push(line);
      if (chunk.length < READ_CHUNK || chunk[chunk.length - 1].id >= to) return out;
      next = chunk[chunk.length - 1].id + 1;
    }
  }

  /** Up to `max` lines of the subject from sequence `from` on (an ordered consumer, no state left behind). */
  async #readFrom(subject: string, from: number, max: number): Promise<StoredLogLine[]> {
    const stream = this.#nats.names.logsStream;
    // A direct get answers "is there anything?" at once; a consumer fetch would wait for its expiry.
    const first = await this.#nats.jsm.direct.getMessage(stream, { seq: from, next_by_subj: subject });
    if (!first) return [];
    const consumer = await this.#nats.js.consumers.get(stream, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: first.seq,
    });
    const out: StoredLogLine[] = [];
    const messages = await consumer.fetch({ max_messages: max, expires: 5000 });
    for await (const m of messages) {
      out.push({ ...m.json<WireLine>(), id: m.seq });
      if (m.info.pending === 0 || out.length >= max) break;
    }
    await consumer.delete().catch(() => {});
    return out;
  }
}
