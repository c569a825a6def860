/**
 * Feeds the log panel of one plugin: a REST backfill (GET …/logs), then the live WebSocket channel
 * `plugin.dev.logs` (resuming after the last line id). When core has no `/api/ws` (the handshake
 * fails and a plain GET answers 404; a core with the channel answers 426) it follows the REST route
 * with `?after=<lastId>` instead, so the panel works on any core and says which one is in use.
 * Reconnects with backoff after a core restart and resumes after the last line it has (no gaps,
 * no duplicates: lines are keyed by their id).
 */
import type { LogLine } from '@powerx/protocol';
import type { ApiClient } from '../api/api-client.ts';
import { LOG_CHANNEL, type ClientFrame, type ReloadMarker, type ServerFrame } from './log-frames.ts';

export type FeedStatus = 'connecting' | 'live' | 'polling' | 'reconnecting' | 'stopped';

export type FeedItem =
  { kind: 'line'; line: LogLine } | { kind: 'reload'; key: string; reload: ReloadMarker };

export interface FeedEvents {
  onItems(items: FeedItem[]): void;
  onStatus(status: FeedStatus, detail?: string): void;
}

const BACKFILL = 200;
const POLL_MS = 1000;

export class LogFeed {
  readonly #api: ApiClient;
  readonly #tenant: string;
  readonly #plugin: string;
  readonly #events: FeedEvents;
  #lastId = 0;
  #lastVersion: string | undefined;
  #stopped = false;
  #socket: WebSocket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #backoffMs = 500;
  #noChannel = false;
  #markers = 0;

  constructor(api: ApiClient, tenant: string, plugin: string, events: FeedEvents) {
    this.#api = api;
    this.#tenant = tenant;
    this.#plugin = plugin;
    this.#events = events;
  }

  start(): void {
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.close(1000, 'panel closed');
    this.#events.onStatus('stopped');
  }

  /** Lines (in id order) become items; a change of version between two lines is a reload marker. */
  #accept(lines: LogLine[]): void {
    // An answer that arrives after stop() belongs to a panel that is gone.
    if (this.#stopped) return;
    const items: FeedItem[] = [];
    for (const line of [...lines].sort((a, b) => a.id - b.id)) {
      if (line.id <= this.#lastId) continue;
      if (this.#lastVersion !== undefined && line.version !== this.#lastVersion) {
        items.push({
          kind: 'reload',
          key: `v-${line.id}`,
          reload: {
            at: line.ts,
            version: line.version,
            result: `version ${this.#lastVersion} → ${line.version}`,
          },
        });
      }
      this.#lastVersion = line.version;
      this.#lastId = line.id;
      items.push({ kind: 'line', line });
    }
    if (items.length) this.#events.onItems(items);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#events.onStatus(this.#lastId ? 'reconnecting' : 'connecting');
    try {
      // The REST backfill first: it also tells at once whether core is up and the plugin readable.
      const page = await this.#api.logs(
        this.#tenant,
        this.#plugin,
        this.#lastId ? { after: this.#lastId, limit: 1000 } : { limit: BACKFILL },
      );
      this.#accept(page.lines);
      if (this.#stopped) return;
      if (this.#noChannel) {
        this.#startPolling();
        return;
      }
      this.#openSocket();
    } catch (error) {
      this.#retry(error);
    }
  }

  #startPolling(): void {
    this.#events.onStatus(
      'polling',
      'The live channel /api/ws is not available on this core: following the log over REST.',
    );
    this.#backoffMs = 500;
    this.#schedulePoll();
  }

  /** The socket closed before it ever opened: no channel on this core (404), or core is down. */
  async #handshakeFailed(): Promise<void> {
    try {
      const probe = await this.#api.raw('/api/ws');
      if (this.#stopped) return;
      if (probe.status === 404) {
        this.#noChannel = true;
        this.#startPolling();
        return;
      }
      this.#retry(new Error(`WebSocket handshake refused (${probe.status})`));
    } catch (error) {
      this.#retry(error);
    }
  }

  #retry(error: unknown): void {
    if (this.#stopped) return;
    this.#events.onStatus('reconnecting', error instanceof Error ? error.message : String(error));
    this.#timer = setTimeout(() => void this.#connect(), this.#backoffMs);
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
  }

  #schedulePoll(): void {
    this.#timer = setTimeout(async () => {
      if (this.#stopped) return;
      try {
        const page = await this.#api.logs(this.#tenant, this.#plugin, { after: this.#lastId, limit: 1000 });
        this.#accept(page.lines);
        this.#events.onStatus('polling');
        this.#schedulePoll();
      } catch (error) {
        this.#retry(error);
      }
    }, POLL_MS);
  }

  #openSocket(): void {
    const url = new URL('/api/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    this.#socket = socket;
    let opened = false;
    const send = (frame: ClientFrame) => socket.send(JSON.stringify(frame));
    socket.onopen = () => {
      opened = true;
      // Browsers cannot set headers on a WebSocket: the token goes in the first frame, never in the URL.
      if (this.#api.token) send({ type: 'auth', token: this.#api.token });
      send({
        type: 'subscribe',
        channel: LOG_CHANNEL,
        tenant: this.#tenant,
        plugin: this.#plugin,
        ...(this.#lastId ? { afterId: this.#lastId } : { backfill: BACKFILL }),
      });
    };
    socket.onmessage = (message) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(message.data)) as ServerFrame;
      } catch {
        return;
      }
      switch (frame.type) {
        case 'subscribed':
          this.#backoffMs = 500;
          // Core remembers a drop of the previous connection (its `dropped` frame may never have arrived).
          this.#events.onStatus(
            'live',
            frame.dropped
              ? `Core dropped the previous connection at ${new Date(frame.dropped.at).toLocaleTimeString()} (${frame.dropped.reason}); the lines after #${frame.dropped.missedAfterId} were fetched again.`
              : undefined,
          );
          break;
        case 'log':
          this.#accept(frame.lines);
          break;
        case 'reload':
          this.#events.onItems([
            { kind: 'reload', key: `r-${frame.reload.at}-${++this.#markers}`, reload: frame.reload },
          ]);
          break;
        case 'dropped':
          this.#events.onStatus(
            'reconnecting',
            `Core dropped this connection (${frame.reason}); reconnecting.`,
          );
          break;
        case 'error':
          this.#events.onStatus(
            'reconnecting',
            `${frame.code}: ${frame.message}${frame.hint ? ` — ${frame.hint}` : ''}`,
          );
          break;
        case 'heartbeat':
          break;
      }
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#stopped) return;
      if (!opened) void this.#handshakeFailed();
      else
        this.#retry(
          new Error(
            event.code === 4008
              ? 'core dropped this slow connection'
              : event.code === 4001
                ? 'not authorized'
                : 'connection closed',
          ),
        );
    };
    // onerror is always followed by onclose, which retries.
    socket.onerror = () => {};
  }
}
