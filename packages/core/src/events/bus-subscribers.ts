import type { BusEvent, BusHandler } from './event-bus.ts';

/**
 * The subscribers of one event bus, whatever carries its events: handlers by type (exact, or a
 * prefix ending in `*`), each isolated from the others' errors.
 */
export class BusSubscribers {
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #onHandlerError: (error: unknown, event: BusEvent) => void;

  constructor(onHandlerError: (error: unknown, event: BusEvent) => void) {
    this.#onHandlerError = onHandlerError;
  }

  /** Returns the unsubscribe function. */
  add(type: string, handler: BusHandler): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(type);
    };
  }

  deliver(event: BusEvent): void {
    for (const [pattern, handlers] of this.#handlers) {
      if (!matches(pattern, event.type)) continue;
      for (const handler of handlers) {
        try {
          handler(event);
        } catch (error) {
          this.#onHandlerError(error, event);
        }
      }
    }
  }

  clear(): void {
    this.#handlers.clear();
  }
}

function matches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}
