/**
 * The restart budget: how many crashes an instance may have within a sliding window before it is
 * failed with CRASH_LOOP, and how long to wait before each restart (doubling, capped).
 */
export interface RestartBudget {
  crashes: number;
  windowMs: number;
}

export const MAX_RESTART_DELAY_MS = 10_000;

export type CrashDecision =
  { action: 'restart'; crashes: number[]; delayMs: number } | { action: 'give-up'; crashes: number[] };

/** `previous` are the times (ms, monotonic) of earlier crashes; `now` is this crash. */
export function decideAfterCrash(
  previous: readonly number[],
  now: number,
  budget: RestartBudget,
  firstDelayMs: number,
): CrashDecision {
  const crashes = [...previous.filter((t) => now - t < budget.windowMs), now];
  if (crashes.length >= budget.crashes) return { action: 'give-up', crashes };
  const delayMs = Math.min(MAX_RESTART_DELAY_MS, firstDelayMs * 2 ** (crashes.length - 1));
  return { action: 'restart', crashes, delayMs };
}
