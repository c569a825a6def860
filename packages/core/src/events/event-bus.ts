/**
 * The event bus interface. The embedded default is in-process; a NATS JetStream implementation
 * can replace it without touching publishers or subscribers.
 */
import type { BusEventName, PluginEventName } from '@powerx/protocol';

export interface BusEvent<T = unknown> {
  type: string;
  ts: string;
  payload: T;
}

export type BusHandler = (event: BusEvent) => void;

export interface EventBus {
  /** Core's events are in the registry of @powerx/protocol (bus-events.ts); plugins publish under tenant.<id>. */
  publish(type: BusEventName | PluginEventName, payload: unknown): Promise<void>;
  /** `type` may end in `*` to match a prefix. Returns the unsubscribe function. */
  subscribe(type: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}
