/**
 * The write side every plugin log feed shares: lines are buffered and stored in batches, in the
 * order written (a chatty plugin must not turn every line into a transaction or a round trip).
 */
import type { PluginLogLine } from '@powerx/runtime';

/** A buffer this full is stored at once instead of waiting for the timer. */
const FULL_BATCH = 500;

export interface LogLineBatcherOptions {
  /** How long a line may wait for others before its batch is stored. */
  delayMs: number;
  /** Stores one batch; batches never overlap. */
  store(batch: PluginLogLine[]): Promise<void>;
  /** A batch could not be stored (its lines are lost). */
  failed(error: unknown, batch: PluginLogLine[]): void;
}

export class LogLineBatcher {
  readonly #opts: LogLineBatcherOptions;
  #buffer: PluginLogLine[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: LogLineBatcherOptions) {
    this.#opts = opts;
  }

  add(line: PluginLogLine): void {
    this.#buffer.push(line);
    if (this.#buffer.length >= FULL_BATCH) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#opts.delayMs);
      this.#timer.unref();
    }
  }

  /** Resolves once every line added so far is stored (or given up). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#flushing = this.#flushing
      .then(async () => {
        if (batch.length) await this.#opts.store(batch);
      })
      .catch((error: unknown) => this.#opts.failed(error, batch));
    return this.#flushing;
  }
}
