/**
 * Live log panel of one plugin: level filter, search, pause/resume, reload markers, autoscroll
 * that stops as soon as the user scrolls up (and a button to jump back to the newest line),
 * connection status with automatic reconnect.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ApiClient } from '../api/api-client.ts';
import { LogFeed, type FeedItem, type FeedStatus } from '../logs/log-feed.ts';
import { LOG_LEVEL_NAMES, levelRank } from '../log-levels.ts';

const MAX_ITEMS = 2000;

const STATUS_TEXT: Record<FeedStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  polling: 'following',
  reconnecting: 'reconnecting…',
  stopped: 'stopped',
};

export function LiveLogsPanel({ api, tenant, plugin }: { api: ApiClient; tenant: string; plugin: string }) {
  const [items, setItems] = useState<FeedItem[]>([]);
  const [held, setHeld] = useState<FeedItem[]>([]);
  const [status, setStatus] = useState<{ status: FeedStatus; detail?: string }>({ status: 'connecting' });
  const [minLevel, setMinLevel] = useState('trace');
  const [search, setSearch] = useState('');
  const [paused, setPaused] = useState(false);
  const [follow, setFollow] = useState(true);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setItems([]);
    setHeld([]);
    // Line ids already shown: a line delivered twice (backfill and live) is shown once.
    const seen = new Set<number>();
    const feed = new LogFeed(api, tenant, plugin, {
      onItems: (incoming) => {
        const fresh = incoming.filter((item) => item.kind === 'reload' || !seen.has(item.line.id));
        for (const item of fresh) if (item.kind === 'line') seen.add(item.line.id);
        if (pausedRef.current) setHeld((h) => [...h, ...fresh].slice(-MAX_ITEMS));
        else setItems((list) => [...list, ...fresh].slice(-MAX_ITEMS));
      },
      onStatus: (s, detail) =>
        setStatus((prev) => ({ status: s, detail: detail ?? (s === prev.status ? prev.detail : undefined) })),
    });
    feed.start();
    return () => feed.stop();
  }, [api, tenant, plugin]);

  const resume = () => {
    setItems((list) => [...list, ...held].slice(-MAX_ITEMS));
    setHeld([]);
    setPaused(false);
  };

  const visible = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const min = levelRank(minLevel);
    return items.filter((item) => {
      if (item.kind === 'reload') return true;
      if (levelRank(item.line.level) < min) return false;
      if (!needle) return true;
      return (
        item.line.msg.toLowerCase().includes(needle) ||
        JSON.stringify(item.line.fields ?? {})
          .toLowerCase()
          .includes(needle)
      );
    });
  }, [items, minLevel, search]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [visible, follow]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 24;
    setFollow(atBottom);
  };

  return (
    <section className="card logs" aria-labelledby="logs-title">
      <div className="logs-head">
        <h2 id="logs-title">Logs</h2>
        <span
          className={`badge feed-${status.status}`}
          data-feed-status={status.status}
          title={status.detail}
        >
          {STATUS_TEXT[status.status]}
        </span>
      </div>
      {status.detail ? <div className="muted small">{status.detail}</div> : null}
      <div className="logs-tools">
        <label>
          Level{' '}
          <select value={minLevel} onChange={(e) => setMinLevel(e.target.value)} aria-label="Minimum level">
            {LOG_LEVEL_NAMES.map((l) => (
              <option key={l} value={l}>
                {l === 'trace' ? 'all' : `${l} and above`}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          placeholder="Search the log"
          aria-label="Search the log"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        {paused ? (
          <button type="button" onClick={resume}>
            Resume{held.length ? ` (${held.length} new)` : ''}
          </button>
        ) : (
          <button type="button" onClick={() => setPaused(true)}>
            Pause
          </button>
        )}
        <button
          type="button"
          onClick={() => {
            setItems([]);
            setHeld([]);
          }}
        >
          Clear
        </button>
      </div>
      <div
        className="log-box"
        ref={box}
        onScroll={onScroll}
        tabIndex={0}
        role="log"
        aria-label="Log lines"
        aria-live="off"
      >
        {visible.length === 0 ? (
          <div className="muted log-empty">
            {items.length
              ? 'No line matches the filter.'
              : status.status === 'connecting'
                ? 'Loading log…'
                : 'No log lines yet. Lines appear here as the plugin writes them.'}
          </div>
        ) : (
          visible.map((item) =>
            item.kind === 'reload' ? (
              <div key={item.key} className="log-reload" data-reload>
                ⟳ reload {item.reload.version ? `to ${item.reload.version}` : ''} · {item.reload.result}
                {item.reload.durationMs !== undefined ? ` · ${item.reload.durationMs} ms` : ''}
                {item.reload.reason ? ` · ${item.reload.reason}` : ''}
              </div>
            ) : (
              <div key={item.line.id} className={`log-line level-${item.line.level}`} data-log-line>
                <span className="log-ts">{item.line.ts.slice(11, 23)}</span>
                <span className="log-level">{item.line.level}</span>
                <span className="log-msg">{item.line.msg}</span>
                {item.line.fields && Object.keys(item.line.fields).length ? (
                  <span className="log-fields">{JSON.stringify(item.line.fields)}</span>
                ) : null}
              </div>
            ),
          )
        )}
      </div>
      {!follow ? (
        <button type="button" className="jump" onClick={() => setFollow(true)}>
          ↓ Jump to latest
        </button>
      ) : null}
    </section>
  );
}
