/**
 * Turns a plugin's stdout, stderr and ctx.log into structured `PluginLogLine`s for the sink, with
 * a per-instance token bucket: a flood is cut (lines beyond the budget are dropped and counted,
 * the pipe is briefly paused so core spends little CPU on it) and a runtime line says how many
 * were dropped. Nothing is buffered without bound: a partial line is capped at MAX_LINE chars.
 * The secrets the plugin was given are masked in every line (message and fields) before the sink:
 * whatever reads plugin logs (API, live stream, Admin) may not be allowed to read its secrets.
 */
import type { Readable } from 'node:stream';
import type { LogLevel } from '@powerx/protocol';
import type { LogSink, PluginLogLine } from './contract.ts';
import { maskSecrets, maskSecretsDeep, secretValues } from './policy/mask-secrets.ts';

export const MAX_LINE = 8192;
/**
 * The fields of one line, as JSON text. The budget counts lines: with fields as large as an IPC
 * message (1 MiB), 200 lines a second were 200 MB a second of core's disk.
 */
export const MAX_FIELDS_BYTES = 8192;

export interface LogRate {
  /** Sustained lines per second per instance. */
  perSecond: number;
  /** Bucket size: how many lines may arrive at once. */
  burst: number;
}

export const DEFAULT_LOG_RATE: LogRate = { perSecond: 200, burst: 1000 };

const PINO_LEVELS: Record<number, LogLevel> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEVEL_NAMES = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

export class LogCapture {
  readonly #sink: LogSink;
  readonly #base: Omit<PluginLogLine, 'ts' | 'level' | 'msg' | 'fields' | 'source'>;
  readonly #rate: LogRate;
  readonly #secrets: string[];
  #tokens: number;
  #refilledAt = performance.now();
  #droppedSinceReport = 0;
  #reportTimer: NodeJS.Timeout | undefined;
  /** Lines dropped over the instance's life. */
  dropped = 0;

  constructor(
    sink: LogSink,
    base: Omit<PluginLogLine, 'ts' | 'level' | 'msg' | 'fields' | 'source'>,
    rate: LogRate = DEFAULT_LOG_RATE,
    secrets: Iterable<string> = [],
  ) {
    this.#sink = sink;
    this.#base = base;
    this.#rate = rate;
    this.#secrets = secretValues(secrets);
    this.#tokens = rate.burst;
  }

  /**
   * A runtime line that the plugin's own doing causes (a refused message or call, a `fatal`
   * message, an event too large to deliver): it takes from the plugin's budget like its own
   * lines, or a plugin repeating the cause in a loop writes without limit.
   */
  writeCaused(level: LogLevel, msg: string, fields?: Record<string, unknown>): boolean {
    return this.write('runtime', level, msg, fields, true);
  }

  /** Writes a line if the budget allows; returns false when it was dropped. */
  write(
    source: PluginLogLine['source'],
    level: LogLevel,
    msg: string,
    fields?: Record<string, unknown>,
    budgeted = source !== 'runtime',
  ): boolean {
    if (budgeted && !this.#take()) {
      this.dropped++;
      this.#droppedSinceReport++;
      this.#scheduleReport();
      return false;
    }
    const line: PluginLogLine = {
      ts: new Date().toISOString(),
      ...this.#base,
      level,
      // Masked before the cut, so that a cut cannot leave the start of a secret unmasked.
      msg: truncate(maskSecrets(msg, this.#secrets)),
      source,
    };
    if (fields && Object.keys(fields).length) {
      // One JSON text of the fields for both the secret check and the size cap (a hot path).
      const json = jsonOf(fields);
      const masked = maskSecretsDeep(fields, this.#secrets, json) as Record<string, unknown>;
      line.fields = capFields(masked, masked === fields ? json : jsonOf(masked));
    }
    try {
      this.#sink.write(line);
    } catch {
      // A failing sink must not take the supervisor down.
    }
    return true;
  }

  /** Reads a stream line by line (stdout → info, stderr → error; JSON lines keep their level). */
  attach(stream: Readable, source: 'stdout' | 'stderr', onLine?: (line: string) => void): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let start = 0;
      for (let nl = partial.indexOf('\n', start); nl !== -1; nl = partial.indexOf('\n', start)) {
        this.#line(partial.slice(start, nl), source, onLine);
        start = nl + 1;
      }
      partial = partial.slice(start);
      if (partial.length > MAX_LINE) {
        this.#line(partial, source, onLine);
        partial = '';
      }
      if (this.#droppedSinceReport > 0 && !stream.isPaused()) {
        // Flooding: stop reading for a moment. The plugin's writes block on the full pipe,
        // which slows only the flooding plugin.
        stream.pause();
        setTimeout(() => stream.resume(), 100).unref();
      }
    });
    stream.on('end', () => {
      if (partial) this.#line(partial, source, onLine);
    });
  }

  close(): void {
    if (this.#reportTimer) {
      clearTimeout(this.#reportTimer);
      this.#reportTimer = undefined;
      this.#report();
    }
  }

  #line(raw: string, source: 'stdout' | 'stderr', onLine?: (line: string) => void): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!text) return;
    onLine?.(text);
    let level: LogLevel = source === 'stderr' ? 'error' : 'info';
    let msg = text;
    let fields: Record<string, unknown> | undefined;
    if (text.startsWith('{') && text.length <= MAX_LINE) {
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (typeof parsed.msg === 'string') {
          const { msg: m, level: l, time: _time, pid: _pid, hostname: _hostname, ...rest } = parsed;
          msg = m as string;
          if (typeof l === 'number' && PINO_LEVELS[l]) level = PINO_LEVELS[l];
          else if (typeof l === 'string' && LEVEL_NAMES.has(l)) level = l as LogLevel;
          fields = rest;
        }
      } catch {
        // not JSON: keep the raw line
      }
    }
    this.write(source, level, msg, fields);
  }

  #take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      this.#rate.burst,
      this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate.perSecond,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #scheduleReport(): void {
    if (this.#reportTimer) return;
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      this.#report();
    }, 1000);
    this.#reportTimer.unref();
  }

  #report(): void {
    if (!this.#droppedSinceReport) return;
    const count = this.#droppedSinceReport;
    this.#droppedSinceReport = 0;
    this.write(
      'runtime',
      'warn',
      `log flood: dropped ${count} lines over the limit of ${this.#rate.perSecond} lines/s (burst ${this.#rate.burst})`,
      {
        dropped: count,
        droppedTotal: this.dropped,
      },
    );
  }
}

/** Fields over the cap are replaced whole (a cut JSON text is no object), saying how large they were. */
function capFields(fields: Record<string, unknown>, json: string | undefined): Record<string, unknown> {
  if (json === undefined) return { unserializable: true };
  const bytes = Buffer.byteLength(json);
  return bytes > MAX_FIELDS_BYTES ? { truncated: true, bytes, limit: MAX_FIELDS_BYTES } : fields;
}

/** The JSON text of `value`, or undefined when it has none (a cycle, a BigInt). */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function truncate(msg: string): string {
  return msg.length > MAX_LINE ? msg.slice(0, MAX_LINE) : msg;
}
