import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNats } from '../cluster/test-nats.ts';
import { NatsEventBus } from './nats-event-bus.ts';
import type { BusEvent } from './event-bus.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
let a: NatsEventBus;
let b: NatsEventBus;

beforeEach(async () => {
  nats = await openTestNats(2);
  a = await NatsEventBus.start(nats.nodes[0], 'node-a');
  b = await NatsEventBus.start(nats.nodes[1], 'node-b');
});
afterEach(async () => {
  await a.close();
  await b.close();
  await nats.close();
});

function collect(bus: NatsEventBus, pattern: string): BusEvent[] {
  const seen: BusEvent[] = [];
  bus.subscribe(pattern, (e) => seen.push(e));
  return seen;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
}

describe('NATS event bus', () => {
  it('delivers an event published on one node to subscribers on every node, in publish order', async () => {
    const onA = collect(a, 'plugin.install.*');
    const onB = collect(b, 'plugin.install.*');
    await a.publish('plugin.install.sandbox_completed', { installId: 'i1' });
    await b.publish('plugin.install.failed', { installId: 'i2' });
    await a.publish('plugin.other', {});
    await until(() => onA.length === 2 && onB.length === 2);
    for (const seen of [onA, onB]) {
      expect(seen.map((e) => e.type)).toEqual(['plugin.install.sandbox_completed', 'plugin.install.failed']);
      expect(seen[0].payload).toEqual({ installId: 'i1' });
    }
  });

  it('keeps a failing handler from stopping the others', async () => {
    b.subscribe('x.y', () => {
      throw new Error('boom');
    });
    const seen = collect(b, 'x.y');
    await a.publish('x.y', 1);
    await until(() => seen.length === 1);
    expect(seen).toHaveLength(1);
  });

  it('never mixes events of another prefix on the same server', async () => {
    const other = await openTestNats(1);
    const foreign = await NatsEventBus.start(other.nodes[0], 'foreign');
    try {
      const seen = collect(a, '*');
      await foreign.publish('plugin.install.failed', { from: 'elsewhere' });
      await b.publish('plugin.install.failed', { from: 'here' });
      await until(() => seen.length >= 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.map((e) => e.payload)).toEqual([{ from: 'here' }]);
    } finally {
      await foreign.close();
      await other.close();
    }
  });
});
