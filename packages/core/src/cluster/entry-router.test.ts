/**
 * The cluster entry router against a real HTTP server standing in for the owner node: what a
 * forwarded request carries (the client's host, the forwarding mark, the client address chain).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { EntryProxy } from '@powerx/runtime';
import { createEntryRouter, FORWARDED_HEADER } from './entry-router.ts';
import { ClusterMetrics } from './cluster-metrics.ts';

const servers: Server[] = [];
const routers: EntryProxy[] = [];

afterEach(async () => {
  for (const r of routers.splice(0)) r.close();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('cluster entry router', () => {
  it("forwards to the owner with the client's host, the forwarding mark and the client address", async () => {
    let seen: IncomingHttpHeaders | undefined;
    const owner = await listen((req, res) => {
      seen = req.headers;
      res.end('from the owner');
    });
    const local = Object.assign(
      () => {
        throw new Error('a plugin of another node is not served locally');
      },
      { close() {} },
    ) as EntryProxy;
    const router = createEntryRouter({
      nodeId: 'node-b',
      local,
      servingInstance: () => undefined,
      owner: () => ({ node: 'node-a', url: owner, state: 'ready', since: new Date().toISOString() }),
      refreshOwner: () => Promise.resolve(undefined),
      ownerUnreachable: () => Promise.resolve(),
      metrics: new ClusterMetrics(new Registry(), 'node-b'),
      takeoverSeconds: 5,
    });
    routers.push(router);
    const front = await listen((req, res) =>
      router(req, res, { tenant: 't', pluginId: 'p', path: '/hello' }),
    );
    // node:http, not fetch: fetch does not let a caller set Host.
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${front}/_p/t/p/hello`,
        { headers: { host: 'plugins.example.com', 'x-forwarded-for': '203.0.113.7' } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(text).toBe('from the owner');
    // Known from the lease: the front server asks no store whether the plugin exists.
    expect(router.knows('t', 'p')).toBe(true);
    expect(seen?.host).toBe('plugins.example.com');
    expect(seen?.[FORWARDED_HEADER]).toBe('node-b');
    expect(seen?.['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
  });
});
