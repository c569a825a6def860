/**
 * Follows a plugin's log over core's WebSocket `/api/ws`, channel `plugin.dev.logs` — the same
 * feed the Admin's live panel uses, so the terminal and the browser show the same lines.
 * Used by `px-plugin dev` and `px-plugin logs -f`.
 *
 * Authenticates with an `auth` frame (the same way browsers do), subscribes with a backfill,
 * and on any disconnect (core restarted, network, dropped as a slow consumer) reconnects with
 * backoff and resumes after the last line it printed: no gaps, no duplicates (lines have ids).
 * Node's built-in WebSocket client: no dependency.
 */
import {
  LOG_CHANNEL,
  type LogLevel,
  type LogLine,
  type ReloadMarker,
  type WsClientFrame,
  type WsServerFrame,
} from '@powerx/protocol';

export type LogStreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LogStreamOptions {
  /** Core base URL, http(s)://… */
  url: string;
  token: string;
  tenant: string;
  plugin: string;
  level?: LogLevel;
  /** Lines to show first (default 20) … */
  backfill?: number;
  /** … or start after this line id (e.g. the last one a REST page returned). */
  afterId?: number;
  onLines(lines: LogLine[]): void;
  onReload?(reload: ReloadMarker): void;
  onStatus?(status: LogStreamStatus, detail?: string): void;
  /** An error frame from core (e.g. not a member of the tenant). Fatal ones (auth) stop the stream. */
  onError?(error: { code: string; message: string; hint?: string }): void;
}

export interface LogStream {
  close(): void;
  /** Resolves once closed (by close() or a fatal error). */
  readonly closed: Promise<void>;
  readonly lastId: number;
}

const FATAL = new Set([
  'AUTH_REQUIRED',
  'AUTH_INVALID',
  'TENANT_NOT_MEMBER',
  'TENANT_NOT_FOUND',
  'PERMISSION_MISSING',
  // The operator turned the live channel off (flag plugin-dev-logs): retrying would not help.
  'FEATURE_DISABLED',
]);

export function wsUrl(base: string): string {
  const url = new URL('/api/ws', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

export function followLogs(opts: LogStreamOptions): LogStream {
  let lastId = opts.afterId ?? 0;
  let stopped = false;
  let socket: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let backoff = 250;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    try {
      socket?.close(1000, 'bye');
    } catch {
      // not open yet
    }
    opts.onStatus?.('closed');
    resolveClosed();
  };

  const connect = () => {
    if (stopped) return;
    opts.onStatus?.(lastId ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(wsUrl(opts.url));
    socket = ws;
    const send = (frame: WsClientFrame) => ws.send(JSON.stringify(frame));
    ws.onopen = () => {
      send({ type: 'auth', token: opts.token });
      send({
        type: 'subscribe',
        channel: LOG_CHANNEL,
        tenant: opts.tenant,
        plugin: opts.plugin,
        ...(opts.level ? { level: opts.level } : {}),
        ...(lastId ? { afterId: lastId } : { backfill: opts.backfill ?? 20 }),
      });
    };
    ws.onmessage = (message) => {
      let frame: WsServerFrame;
      try {
        frame = JSON.parse(String(message.data)) as WsServerFrame;
      } catch {
        return;
      }
      switch (frame.type) {
        case 'subscribed':
          backoff = 250;
          // Core remembers a drop of the previous connection (its `dropped` frame may never have arrived).
          opts.onStatus?.(
            'live',
            frame.dropped
              ? `core had dropped the stream at ${frame.dropped.at} (${frame.dropped.reason}); resumed after line ${frame.dropped.missedAfterId}`
              : undefined,
          );
          break;
        case 'log': {
          const fresh = frame.lines.filter((l) => l.id > lastId);
          if (!fresh.length) break;
          lastId = fresh[fresh.length - 1].id;
          opts.onLines(fresh);
          break;
        }
        case 'reload':
          opts.onReload?.(frame.reload);
          break;
        case 'dropped':
          opts.onStatus?.('reconnecting', `core dropped the log stream (${frame.reason}); resuming`);
          break;
        case 'error':
          opts.onError?.(frame);
          if (FATAL.has(frame.code)) stop();
          break;
        default:
          break;
      }
    };
    ws.onclose = () => {
      if (socket === ws) socket = undefined;
      if (stopped) return;
      opts.onStatus?.('reconnecting');
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 5000);
    };
    // onerror is always followed by onclose, which reconnects.
    ws.onerror = () => {};
  };

  connect();
  return {
    close: stop,
    closed,
    get lastId() {
      return lastId;
    },
  };
}
