import type { LogLevel } from '@powerx/protocol';

/**
 * Protocol's LOG_LEVELS is a value: the Admin imports protocol for types only (its runtime pulls
 * in typebox), so the list is restated here and checked against the type at compile time.
 */
export const LOG_LEVEL_NAMES = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
] as const satisfies readonly LogLevel[];
type Missing = Exclude<LogLevel, (typeof LOG_LEVEL_NAMES)[number]>;
const _complete: Missing extends never ? true : false = true;
void _complete;

export function levelRank(level: string): number {
  const i = (LOG_LEVEL_NAMES as readonly string[]).indexOf(level);
  return i < 0 ? 2 : i;
}
