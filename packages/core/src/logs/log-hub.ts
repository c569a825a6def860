/**
 * The live feed behind `plugin.dev.logs`: fans plugin log lines out to subscribers (the Admin's
 * log panel, `px-plugin dev`, `px-plugin logs -f`) per (tenant, plugin).
 *
 * Lines are read back from the log feed (database or NATS stream) in id order after each burst of writes,
 * so every subscriber — live or resuming with `afterId` — sees the same lines with the same ids
 * as the REST route: no gaps, no duplicates, one source of truth. One read per topic serves all
 * its subscribers; topics without subscribers cost nothing.
 *
 * Backpressure: the hub never queues for a subscriber. Each sink reports whether it is
 * overloaded (the WebSocket layer: bytes buffered for that socket above a bound); an overloaded
 * subscriber is told (`dropped`) and removed, so a slow client can never make core's memory grow.
 */
import type { LogLevel, LogLine, ReloadMarker, WsServerFrame } from '@powerx/protocol';
import { LOG_CHANNEL } from '@powerx/protocol';
import type { PluginLogFeed } from '../plugins/plugin-log-feed.ts';

const LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const PAGE = 1000;
const FRAME_BYTES = 128 * 1024;

export interface LogSink {
  /** Delivers a frame; false when the client is too slow and must be dropped. */
  send(frame: WsServerFrame): boolean;
  /** Told once, then never called again. */
  drop(reason: string): void;
}

interface Subscriber {
  sink: LogSink;
  minLevel: number;
  cursor: number;
  dropped?: boolean;
}

interface Topic {
  tenant: string;
  plugin: string;
  subscribers: Set<Subscriber>;
  lastId: number;
  /** Every read and every new subscription of a topic runs in this chain: ordering without locks. */
  chain: Promise<void>;
  scheduled: boolean;
}

export interface SubscribeOptions {
  afterId?: number;
  backfill?: number;
  level?: LogLevel;
}

export class LogHub {
  readonly #store: PluginLogFeed;
  readonly #topics = new Map<string, Topic>();
  readonly #delayMs: number;
  #detach: (() => void) | undefined;
  #closed = false;

  constructor(store: PluginLogFeed, opts: { delayMs?: number } = {}) {
    this.#store = store;
    this.#delayMs = opts.delayMs ?? 25;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const t of this.#topics.values()) n += t.subscribers.size;
    return n;
  }

  /** Sends the backfill, then live lines. Returns the unsubscribe function. */
  async subscribe(
    tenant: string,
    plugin: string,
    sink: LogSink,
    opts: SubscribeOptions = {},
  ): Promise<{ lastId: number; unsubscribe: () => void }> {
    const topic = this.#topic(tenant, plugin);
    const sub: Subscriber = { sink, minLevel: Math.max(0, LEVELS.indexOf(opts.level ?? 'trace')), cursor: 0 };
    let lastId = 0;
    topic.chain = topic.chain.then(async () => {
      if (opts.afterId !== undefined) {
        // Resume: everything after the client's last line, page by page.
        let cursor = opts.afterId;
        for (;;) {
          const page = await this.#store.query(tenant, plugin, { after: cursor, limit: PAGE });
          if (page.lines.length) this.#deliver(topic, sub, page.lines as LogLine[], true);
          cursor = page.lastId;
          if (page.lines.length < PAGE) break;
        }
        sub.cursor = cursor;
      } else {
        const n = Math.min(Math.max(opts.backfill ?? 100, 0), PAGE);
        const page = await this.#store.query(tenant, plugin, { limit: Math.max(n, 1) });
        if (n > 0 && page.lines.length) this.#deliver(topic, sub, page.lines as LogLine[], true);
        sub.cursor = page.lastId;
      }
      lastId = sub.cursor;
      // The shared read cursor belongs to the subscribers already there: moving it to this
      // one's cursor would skip lines written but not yet read for them. Only a topic with no
      // subscribers starts from here; otherwise #deliver filters per subscriber cursor.
      if (!topic.subscribers.size) topic.lastId = Math.max(topic.lastId, sub.cursor);
      if (!sub.dropped) topic.subscribers.add(sub);
      // Lines written while this backfill was read, before anyone listened, are read now.
      this.#schedule(topic, 0);
    });
    await topic.chain;
    this.#attach();
    return { lastId, unsubscribe: () => this.#remove(topic, sub) };
  }

  /** A reload marker (dev reload finished, rolled back …) for everyone watching the plugin. */
  publishReload(tenant: string, plugin: string, reload: ReloadMarker): void {
    const topic = this.#topics.get(key(tenant, plugin));
    if (!topic) return;
    // After the lines written so far, so the marker lands where it happened.
    this.#schedule(topic, 0);
    topic.chain = topic.chain.then(() => {
      for (const sub of [...topic.subscribers])
        this.#send(topic, sub, { type: 'reload', channel: LOG_CHANNEL, tenant, plugin, reload });
    });
  }

  close(): void {
    this.#closed = true;
    this.#detach?.();
    this.#detach = undefined;
    for (const topic of this.#topics.values()) topic.subscribers.clear();
    this.#topics.clear();
  }

  #topic(tenant: string, plugin: string): Topic {
    const k = key(tenant, plugin);
    let topic = this.#topics.get(k);
    if (!topic) {
      topic = {
        tenant,
        plugin,
        subscribers: new Set(),
        lastId: 0,
        chain: Promise.resolve(),
        scheduled: false,
      };
      this.#topics.set(k, topic);
    }
    return topic;
  }

  #attach(): void {
    if (this.#detach || this.#closed) return;
    this.#detach = this.#store.onLine((line) => {
      const topic = this.#topics.get(key(line.tenant, line.plugin));
      if (topic?.subscribers.size) this.#schedule(topic, this.#delayMs);
    });
  }

  /** Coalesces a burst of lines into one read. */
  #schedule(topic: Topic, delayMs: number): void {
    if (topic.scheduled) return;
    topic.scheduled = true;
    const run = () => {
      topic.chain = topic.chain
        .then(async () => {
          topic.scheduled = false;
          if (!topic.subscribers.size || this.#closed) return;
          for (;;) {
            const page = await this.#store.query(topic.tenant, topic.plugin, {
              after: topic.lastId,
              limit: PAGE,
            });
            if (!page.lines.length) break;
            topic.lastId = page.lastId;
            for (const sub of [...topic.subscribers])
              this.#deliver(topic, sub, page.lines as LogLine[], false);
            if (page.lines.length < PAGE) break;
          }
        })
        .catch(() => {
          topic.scheduled = false;
        });
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else run();
  }

  #deliver(topic: Topic, sub: Subscriber, lines: LogLine[], backfill: boolean): void {
    const wanted = lines.filter(
      (l) => l.id > sub.cursor && LEVELS.indexOf(l.level as LogLevel) >= sub.minLevel,
    );
    if (lines.length) sub.cursor = Math.max(sub.cursor, lines[lines.length - 1].id);
    // Frames of at most ~FRAME_BYTES, so what a slow client can hold up is bounded by the sink's limit plus one frame.
    let batch: LogLine[] = [];
    let bytes = 0;
    const flush = () => {
      if (batch.length)
        this.#send(topic, sub, {
          type: 'log',
          channel: LOG_CHANNEL,
          tenant: topic.tenant,
          plugin: topic.plugin,
          lines: batch,
          ...(backfill ? { backfill: true } : {}),
        });
      batch = [];
      bytes = 0;
    };
    for (const line of wanted) {
      batch.push(line);
      bytes += line.msg.length + 200;
      if (bytes >= FRAME_BYTES) flush();
    }
    flush();
  }

  #send(topic: Topic, sub: Subscriber, frame: WsServerFrame): void {
    if (sub.dropped || (!topic.subscribers.has(sub) && frame.type !== 'log')) return;
    if (sub.sink.send(frame)) return;
    sub.dropped = true;
    this.#remove(topic, sub);
    sub.sink.drop('slow consumer: the client did not read its messages fast enough');
  }

  #remove(topic: Topic, sub: Subscriber): void {
    topic.subscribers.delete(sub);
    if (!topic.subscribers.size && this.#topics.get(key(topic.tenant, topic.plugin)) === topic) {
      // Keep reads in flight consistent: drop the topic only once its chain is idle.
      void topic.chain.then(() => {
        if (!topic.subscribers.size && this.#topics.get(key(topic.tenant, topic.plugin)) === topic)
          this.#topics.delete(key(topic.tenant, topic.plugin));
        if (!this.#topics.size) {
          this.#detach?.();
          this.#detach = undefined;
        }
      });
    }
  }
}

function key(tenant: string, plugin: string): string {
  return `${tenant}\0${plugin}`;
}
