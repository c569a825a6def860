import type { BusEvent, BusHandler, EventBus } from './event-bus.ts';
import { BusSubscribers } from './bus-subscribers.ts';

/** Delivers events to subscribers in this process, each handler isolated from the others' errors. */
export class InProcessEventBus implements EventBus {
  readonly #subscribers: BusSubscribers;

  constructor(onHandlerError: (error: unknown, event: BusEvent) => void = () => {}) {
    this.#subscribers = new BusSubscribers(onHandlerError);
  }

  async publish(type: string, payload: unknown): Promise<void> {
    this.#subscribers.deliver({ type, ts: new Date().toISOString(), payload });
  }

  subscribe(type: string, handler: BusHandler): () => void {
    return this.#subscribers.add(type, handler);
  }

  async close(): Promise<void> {
    this.#subscribers.clear();
  }
}
