/**
 * The event bus on NATS JetStream: every event is stored on the `<prefix>_events` stream and
 * every node reads the stream from the moment it starts (an ordered consumer, new events only),
 * so a subscriber on any node sees the events published on all of them, in one order.
 */
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import type { BusEvent, BusHandler, EventBus } from './event-bus.ts';
import { BusSubscribers } from './bus-subscribers.ts';
import type { NatsCluster } from '../cluster/nats-cluster.ts';
import { fromSubjectToken } from '../cluster/nats-names.ts';

export interface NatsBusEvent extends BusEvent {
  /** The node that published it. */
  node?: string;
}

export class NatsEventBus implements EventBus {
  readonly #nats: NatsCluster;
  readonly #nodeId: string;
  readonly #subscribers: BusSubscribers;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;

  private constructor(nats: NatsCluster, nodeId: string, onHandlerError: (e: unknown, ev: BusEvent) => void) {
    this.#nats = nats;
    this.#nodeId = nodeId;
    this.#subscribers = new BusSubscribers(onHandlerError);
  }

  /** Starts reading the stream before it returns, so no event published afterwards is missed. */
  static async start(
    nats: NatsCluster,
    nodeId: string,
    onHandlerError: (error: unknown, event: BusEvent) => void = () => {},
  ): Promise<NatsEventBus> {
    const bus = new NatsEventBus(nats, nodeId, onHandlerError);
    const consumer = await nats.js.consumers.get(nats.names.eventsStream, {
      filter_subjects: nats.names.eventsWildcard,
      deliver_policy: DeliverPolicy.New,
    });
    bus.#messages = await consumer.consume();
    bus.#loop = (async () => {
      for await (const m of bus.#messages!) {
        let event: NatsBusEvent;
        try {
          event = m.json<NatsBusEvent>();
        } catch {
          continue;
        }
        const type = fromSubjectToken(m.subject.slice(nats.names.eventsWildcard.length - 1));
        bus.#subscribers.deliver({ ...event, type });
      }
    })().catch(() => {});
    return bus;
  }

  async publish(type: string, payload: unknown): Promise<void> {
    const event: NatsBusEvent = { type, ts: new Date().toISOString(), payload, node: this.#nodeId };
    await this.#nats.js.publish(this.#nats.names.eventSubject(type), JSON.stringify(event));
  }

  subscribe(type: string, handler: BusHandler): () => void {
    return this.#subscribers.add(type, handler);
  }

  async close(): Promise<void> {
    this.#subscribers.clear();
    await this.#messages?.close();
    await this.#loop;
  }
}
