import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginContext } from './context.ts';
import { createNodeRouter } from './node-adapter.ts';
import { createRouter, json, type Routes } from './router.ts';

const routes: Routes = {
  'GET /items/:id': (req) => ({ id: req.params.id, q: req.query.get('q') }),
  'POST /items': async (req) => ({ got: await req.json() }),
  'POST /raw': async (req) => new Response(await req.request.text()),
  'PUT /both': async (req) => ({ text: await req.text(), again: await req.request.text() }),
  'GET /text': () => 'plain',
  'GET /empty': () => null,
  'GET /custom': () => json({ made: true }, { status: 201, headers: { 'x-a': '1' } }),
};
const ctx = {} as PluginContext;

describe('the node router', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const route = createNodeRouter(routes);
    server = http.createServer((req, res) => void route(req, res, ctx));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('matches params and query, and answers JSON', async () => {
    const res = await fetch(`${base}/items/a%20b?q=1`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ id: 'a b', q: '1' });
  });

  it('reads a JSON body, or the body through the standard Request, once', async () => {
    expect(await (await fetch(`${base}/items`, { method: 'POST', body: '{"n":1}' })).json()).toEqual({
      got: { n: 1 },
    });
    expect(await (await fetch(`${base}/raw`, { method: 'POST', body: 'abc' })).text()).toBe('abc');
    expect(await (await fetch(`${base}/both`, { method: 'PUT', body: 'xyz' })).json()).toEqual({
      text: 'xyz',
      again: 'xyz',
    });
  });

  it('writes strings as text, null as 204 and Responses as they are', async () => {
    const t = await fetch(`${base}/text`);
    expect([t.status, t.headers.get('content-type'), await t.text()]).toEqual([
      200,
      'text/plain; charset=utf-8',
      'plain',
    ]);
    expect((await fetch(`${base}/empty`)).status).toBe(204);
    const c = await fetch(`${base}/custom`);
    expect([c.status, c.headers.get('x-a'), await c.json()]).toEqual([201, '1', { made: true }]);
  });

  it('answers 404 for an unknown path and 405 for a known path with another method, like the fetch router', async () => {
    const fetchRouter = createRouter(routes);
    for (const [method, path, status] of [
      ['GET', '/nope', 404],
      ['DELETE', '/items/1', 405],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method });
      const viaFetch = await fetchRouter(new Request(`http://x${path}`, { method }), ctx);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual(await viaFetch.json());
    }
  });
});
