import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestNats } from './test-nats.ts';
import { NodeLiveness } from './node-liveness.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;

beforeEach(async () => {
  nats = await openTestNats(3);
});
afterEach(async () => {
  await nats.close();
});

const liveness = (i: number) => new NodeLiveness(nats.nodes[i].nc, nats.nodes[i].names, `node-${i}`);

describe('node liveness', () => {
  it('finds a node that answers pings alive', async () => {
    await liveness(1).serve();
    expect(await liveness(0).probe('node-1')).toBe('alive');
  });

  it('finds a node gone the moment its NATS connection closes, without waiting for any TTL', async () => {
    await liveness(1).serve();
    const asker = new NodeLiveness(nats.nodes[0].nc, nats.nodes[0].names, 'node-0', {
      timeoutMs: 5000,
      cacheMs: 0,
    });
    expect(await asker.probe('node-1')).toBe('alive');
    await nats.nodes[1].nc.close(); // what kill -9 does to the connection
    await new Promise((r) => setTimeout(r, 500)); // the server reads the closed socket
    const t0 = performance.now();
    expect(await asker.probe('node-1')).toBe('gone');
    // "No responders" comes back from the server at once, not when the 5 s request limit runs out.
    expect(performance.now() - t0).toBeLessThan(4000);
  });

  it('finds a node that never ran gone, and a stopped one gone', async () => {
    const b = liveness(1);
    await b.serve();
    b.stop();
    await nats.nodes[1].nc.flush();
    expect(await liveness(0).probe('node-1')).toBe('gone');
    expect(await liveness(0).probe('node-never')).toBe('gone');
  });

  it('answers unknown, not gone, when its own connection is down', async () => {
    await liveness(1).serve();
    const asker = liveness(0);
    await nats.nodes[0].nc.close();
    expect(await asker.probe('node-1')).toBe('unknown');
  });

  it('calls a node gone for a while only after probes agree for that long', async () => {
    const asker = new NodeLiveness(nats.nodes[0].nc, nats.nodes[0].names, 'node-0', { cacheMs: 0 });
    expect(await asker.goneFor('node-1', 300)).toBe(false);
    await new Promise((r) => setTimeout(r, 350));
    expect(await asker.goneFor('node-1', 300)).toBe(true);
    await liveness(1).serve();
    expect(await asker.goneFor('node-1', 0)).toBe(false);
  });
});
