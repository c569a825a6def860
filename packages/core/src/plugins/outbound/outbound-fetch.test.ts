import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressPolicy } from './address-policy.ts';
import { outboundFetch, type Resolver } from './outbound-fetch.ts';

let server: http.Server;
let port: number;
let connections = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/big') {
      // 64 MiB in 64 KiB chunks, as fast as the client takes them.
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 1024) {
          sent++;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (req.url === '/fat-headers') {
      res.setHeader('x-fat', 'y'.repeat(64 * 1024));
      return res.end('ok');
    }
    if (req.url === '/drip') {
      res.write('a');
      const timer = setInterval(() => res.write('a'), 50);
      return res.on('close', () => clearInterval(timer));
    }
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${req.method}`);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const loopbackAllowed = () => new AddressPolicy(['127.0.0.0/8']);
const limits = { maxBodyBytes: 1024 * 1024, maxHeaderBytes: 16 * 1024, timeoutMs: 1500 };

describe('outbound fetch of a plugin', () => {
  it('refuses loopback, also written as a decimal number, before any connection', async () => {
    const before = connections;
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://2130706433:${port}/`,
      `http://0x7f.1:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://localhost:${port}/`,
    ]) {
      await expect(outboundFetch(url, {}, new AddressPolicy(), limits), url).rejects.toMatchObject({
        code: 'OUTBOUND_ADDRESS_BLOCKED',
      });
    }
    expect(connections).toBe(before);
  });

  it('refuses a name when any one of its addresses is refused (checked in the connect-time lookup)', async () => {
    const resolver: Resolver = (_host, cb) =>
      cb(null, [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
    await expect(
      outboundFetch(`http://rebind.example:${port}/`, {}, new AddressPolicy(), limits, resolver),
    ).rejects.toMatchObject({ code: 'OUTBOUND_ADDRESS_BLOCKED', details: { address: '127.0.0.1' } });
  });

  it('uses the address the lookup answered at connect time, not an earlier answer', async () => {
    // A rebinding name: public first, loopback for every later lookup. Only one lookup happens,
    // at connect time, and that is the one judged.
    let calls = 0;
    const resolver: Resolver = (_host, cb) =>
      cb(null, [{ address: calls++ === 0 ? '127.0.0.1' : '93.184.215.14', family: 4 }]);
    await expect(
      outboundFetch(`http://rebind.example:${port}/`, {}, new AddressPolicy(), limits, resolver),
    ).rejects.toMatchObject({ code: 'OUTBOUND_ADDRESS_BLOCKED' });
    expect(calls).toBe(1);
  });

  it('connects by name to the address its lookup allowed', async () => {
    const resolver: Resolver = (_host, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
    const r = await outboundFetch(`http://svc.internal:${port}/`, {}, loopbackAllowed(), limits, resolver);
    expect(r).toMatchObject({ status: 200, body: 'hello GET' });
  });

  it('fetches from a network the operator allowed', async () => {
    const r = await outboundFetch(
      `http://127.0.0.1:${port}/x`,
      { method: 'POST', body: 'b' },
      loopbackAllowed(),
      limits,
    );
    expect(r).toMatchObject({ status: 200, body: 'hello POST', headers: { 'content-type': 'text/plain' } });
  });

  it('cuts a body larger than the cap and says so', async () => {
    await expect(
      outboundFetch(`http://127.0.0.1:${port}/big`, {}, loopbackAllowed(), limits),
    ).rejects.toMatchObject({ code: 'OUTBOUND_BODY_TOO_LARGE', details: { limit: 1024 * 1024 } });
  });

  it('refuses oversized headers and a body that never ends', async () => {
    await expect(
      outboundFetch(`http://127.0.0.1:${port}/fat-headers`, {}, loopbackAllowed(), limits),
    ).rejects.toMatchObject({ code: 'OUTBOUND_HEADERS_TOO_LARGE' });
    await expect(
      outboundFetch(`http://127.0.0.1:${port}/drip`, {}, loopbackAllowed(), limits),
    ).rejects.toMatchObject({ code: 'OUTBOUND_TIMEOUT' });
  });
});
