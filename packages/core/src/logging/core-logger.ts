/**
 * Core's own logger: structured JSON lines (pino) on stdout, at the level of the config
 * (PX_LOG_LEVEL); request and install ids added to every line from the log context; secrets redacted
 * by path; every written line counted by level for px_core_log_lines_total.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { logContext } from './log-context.ts';

/**
 * Fields that hold secrets wherever they appear in a log object (pino paths, `*` = any key).
 * Secret values are never logged on purpose; this is the net for an object logged whole.
 */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  'secrets',
  '*.secrets',
  '*.*.secrets',
  'password',
  '*.password',
  'adminPassword',
  '*.adminPassword',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'masterKey',
  '*.masterKey',
  'privateKeyPem',
  '*.privateKeyPem',
  'secrets_enc',
  '*.secrets_enc',
];

/** Lines written per level since start; read by the metrics at scrape time. */
export class LogLineCounts {
  readonly byLevel = new Map<string, number>();
  add(level: string): void {
    this.byLevel.set(level, (this.byLevel.get(level) ?? 0) + 1);
  }
}

export interface CoreLogger {
  logger: Logger;
  lineCounts: LogLineCounts;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function createCoreLogger(options: { level: string; destination?: DestinationStream }): CoreLogger {
  const lineCounts = new LogLineCounts();
  const level = options.level;
  // pino's own message for a bad level is "unknown level"; say which setting and what is allowed.
  if (!LOG_LEVELS.includes(level))
    throw new Error(`Log level "${level}" (PX_LOG_LEVEL) is not one of ${LOG_LEVELS.join(', ')}`);
  const config = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      logMethod(
        this: Logger,
        args: Parameters<Logger['info']>,
        method: (...a: unknown[]) => void,
        level: number,
      ) {
        lineCounts.add(this.levels.labels[level] ?? String(level));
        method.apply(this, args as unknown[]);
      },
    },
    mixin(_merge: object, _level: number, logger: Logger) {
      const context = logContext.getStore();
      if (!context) return {};
      // Fastify's request logger already binds reqId; do not write the key twice.
      if (context.reqId && logger.bindings().reqId !== undefined)
        return context.installId ? { installId: context.installId } : {};
      return { ...context };
    },
  };
  const logger = options.destination ? pino(config, options.destination) : pino(config);
  return { logger, lineCounts };
}
