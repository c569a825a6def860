/**
 * Where plugin log lines go and come back from. Two implementations: PluginLogStore (the core
 * database, embedded default) and NatsLogFeed (a JetStream stream shared by every node).
 * Line ids are increasing per feed, so `after` cursors work across restarts and nodes.
 */
import type { LogSink, PluginLogLine } from '@powerx/runtime';

export interface StoredLogLine {
  id: number;
  ts: string;
  tenant: string;
  plugin: string;
  version: string;
  instance: string;
  level: string;
  msg: string;
  source: string;
  fields?: Record<string, unknown>;
}

export interface LogPage {
  lines: StoredLogLine[];
  lastId: number;
}

export interface LogQueryOptions {
  after?: number;
  limit?: number;
  level?: string;
}

export interface PluginLogFeed extends LogSink {
  /** Called for every new line (on the NATS feed: lines written on any node). */
  onLine(listener: (line: PluginLogLine) => void): () => void;
  /** Resolves once every line written so far is stored. */
  flush(): Promise<void>;
  /** Without `after`: the last `limit` lines; with it: the next `limit` lines after that id. */
  query(tenant: string, plugin: string, opts: LogQueryOptions): Promise<LogPage>;
  dropPlugin(tenant: string, plugin: string): Promise<void>;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Levels at or above `level` (all when unset or unknown). */
export function levelsFrom(level: string | undefined): string[] {
  return level ? LOG_LEVELS.slice(Math.max(LOG_LEVELS.indexOf(level), 0)) : LOG_LEVELS;
}

/** The longest message a feed keeps of a line (longer ones are cut), on every feed alike. */
export const MAX_STORED_MESSAGE = 16_384;

/** A line as every feed stores it (before the feed gives it an id): message capped, fields only when set. */
export function toStoredLine(line: PluginLogLine): Omit<StoredLogLine, 'id'> {
  return {
    ts: line.ts,
    tenant: line.tenant,
    plugin: line.plugin,
    version: line.version,
    instance: line.instance,
    level: line.level,
    msg: line.msg.slice(0, MAX_STORED_MESSAGE),
    source: line.source,
    ...(line.fields ? { fields: line.fields } : {}),
  };
}
