/**
 * The ids every log line of a request or an install carries. Fastify's request logger only knows
 * the request; an install runs on in the background after the response and logs through the base
 * logger, so the ids travel in an AsyncLocalStorage instead and the logger's mixin adds them to
 * every line written inside that async context (see core-logger.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  /** Fastify request id of the request that started the work (also sent back as x-request-id). */
  reqId?: string;
  installId?: string;
}

export const logContext = new AsyncLocalStorage<LogContext>();

/** Runs fn with the current ids plus `extra`; everything fn starts (timers, promises) keeps them. */
export function withLogContext<T>(extra: LogContext, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...extra }, fn);
}
