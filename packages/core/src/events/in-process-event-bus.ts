import type { BusEvent, BusHandler, EventBus } from './event-bus.ts';

/** Delivers events to subscribers in this process, each handler isolated from the others' errors. */
export class InProcessEventBus implements EventBus {
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #onHandlerError: (error: unknown, event: BusEvent) => void;

  constructor(onHandlerError: (error: unknown, event: BusEvent) => void = () => {}) {
    this.#onHandlerError = onHandlerError;
  }

  async publish(type: string, payload: unknown): Promise<void> {
    const event: BusEvent = { type, ts: new Date().toISOString(), payload };
    for (const [pattern, handlers] of this.#handlers) {
      if (!matches(pattern, type)) continue;
      for (const handler of handlers) {
        try {
          handler(event);
        } catch (error) {
          this.#onHandlerError(error, event);
        }
      }
    }
  }

  subscribe(type: string, handler: BusHandler): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(type);
    };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

function matches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}
