/**
 * At most `limit` tasks at once; the others start in arrival order as those end, each in a later
 * turn of the event loop. The storage calls of one plugin instance go through one of these: core's
 * database hands out its connection in turn, first come first served, and SQLite runs a query on
 * the event loop itself, so 200 calls queued there ran back to back without one I/O callback in
 * between — core answered nothing, to anyone, until the plugin's last query was done. Queued here,
 * they run one after another with core's own work (API requests, other plugins) in between.
 */
export class Turns {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#limit) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The turn passes to the next waiting task (the running count stays), after the I/O that
      // came in meanwhile.
      const next = this.#waiting.shift();
      if (next) setImmediate(next);
      else this.#running--;
    }
  }
}
