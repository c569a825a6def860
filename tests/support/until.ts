/**
 * Polls `probe` until `ok` accepts its value, or fails at the deadline naming what it waited for
 * and the last value seen. The one wait of the test suites: nothing waits without a deadline.
 */
export interface UntilOptions<T> {
  /** What is awaited, for the failure message. */
  message: string;
  /** Accepts the probed value. Default: truthy. */
  ok?: (value: T) => boolean;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Between probes. Default 50 ms. */
  intervalMs?: number;
}

export async function until<T>(probe: () => T | Promise<T>, opts: UntilOptions<T>): Promise<T> {
  const { message, ok = Boolean, timeoutMs = 15_000, intervalMs = 50 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${message}; last: ${JSON.stringify(value)?.slice(0, 2000)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
