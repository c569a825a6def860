import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import {
  FORBIDDEN_NODE_FLAGS,
  createEntryProxy,
  probeHostIsolation,
  type InstanceInfo,
  type InstanceState,
} from '@powerx/runtime';
import { generateTestData } from '@powerx/runtime/test-data';
import { harness, request, waitFor, type Harness } from './helpers.ts';

/** Core's mount of the entry proxy at /_p/<tenant>/<plugin>/…, with an override to fake states. */
function mountProxy(h: Harness, override: Map<string, InstanceState>) {
  const proxy = createEntryProxy((tenant, pluginId) => {
    const info = h.supervisor.list().find((i) => i.tenant === tenant && i.pluginId === pluginId);
    if (!info) return undefined;
    return { socketPath: info.socketPath, state: override.get(pluginId) ?? info.state };
  });
  const server = http.createServer((req, res) => {
    const m = /^\/_p\/([^/]+)\/([^/]+)(\/.*)?$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    proxy(req, res, { tenant: m[1], pluginId: m[2], path: m[3] ?? '/' });
  });
  return { server, proxy };
}

describe('the hello plugin under the runtime', () => {
  let h: Harness;
  let info: InstanceInfo;
  let port: number;
  let server: http.Server;
  let closeProxy: () => void;
  const override = new Map<string, InstanceState>();
  const API_KEY = 'sk-live-do-not-log-7f3a';

  beforeAll(async () => {
    process.env.PX_HOST_ONLY_VARIABLE = 'host-value';
    h = await harness();
    const spec = await h.spec('hello', {
      config: { GREETING: 'Howdy', NOT_DECLARED: 'leak' },
      secrets: { API_KEY, UNDECLARED: 'x' },
    });
    info = await h.supervisor.start(spec);
    // What core does after the health gate: generated test data, then the seed hook.
    const data = generateTestData(spec.manifest.sandbox.testData, 'install-42');
    for (const [collection, records] of Object.entries(data)) {
      for (const record of records)
        await h.host.storage.insert(spec.tenant, spec.pluginId, collection, record);
    }
    await h.supervisor.runSeed(info.id);
    const mounted = mountProxy(h, override);
    server = mounted.server;
    closeProxy = mounted.proxy.close;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    delete process.env.PX_HOST_ONLY_VARIABLE;
    closeProxy?.();
    server?.close();
    await h?.close();
  });

  const viaProxy = (path: string, init?: Parameters<typeof request>[2]) =>
    request({ port }, `/_p/sandbox-a/com.fixture.hello${path}`, init);

  it('reports ready with the isolation it actually got', async () => {
    expect(info.state).toBe('ready');
    expect(info.isolation.level).toBe('bubblewrap');
    expect(info.isolation.weak).toBe(false);
    expect(info.isolation.permissionModel).toBe(true);
    const host = probeHostIsolation();
    expect(info.isolation.prlimit).toBe(Boolean(host.prlimit));
    expect(info.isolation.networkNamespace).toBe(true);
    expect(info.isolation.namespaces).toEqual(['user', 'mount', 'pid', 'network', 'ipc', 'uts', 'cgroup']);
    // The real process: permission model on, none of the escape hatches granted, limits applied.
    const pid = h.supervisor.get(info.id)!.pid!;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    expect(argv).toContain('--permission');
    for (const flag of FORBIDDEN_NODE_FLAGS)
      expect(
        argv.some((a) => a.startsWith(flag)),
        flag,
      ).toBe(false);
    if (host.prlimit)
      expect(await readFile(`/proc/${pid}/limits`, 'utf8')).toMatch(/Max open files\s+256\s+256/);
  });

  it('answers through the entry proxy with its configured greeting', async () => {
    const reply = await viaProxy('/hello?name=Ada');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({
      message: 'Howdy, Ada!',
      tenant: 'sandbox-a',
      plugin: { id: 'com.fixture.hello', version: '1.2.0' },
    });
  });

  it('sees its declared configuration only', async () => {
    expect((await viaProxy('/config')).json()).toEqual({ GREETING: 'Howdy' });
  });

  it('sees its generated test data and what its seed hook wrote', async () => {
    const customers = (await viaProxy('/customers')).json<{
      count: number;
      first: Array<Record<string, unknown>>;
    }>();
    expect(customers.count).toBe(25);
    for (const c of customers.first) {
      expect(String(c.email)).toContain('@');
      expect(typeof c.name).toBe('string');
      expect(c.age).toBeGreaterThanOrEqual(18);
    }
    const meta = (await viaProxy('/meta')).json<Array<Record<string, unknown>>>();
    expect(meta).toMatchObject([{ seeded: true, customersAtSeed: 25 }]);
  });

  it('sends stdout, ctx.log and runtime lines to the log sink as structured lines, honouring the log level', async () => {
    await viaProxy('/hello?name=Logger');
    const greeted = await waitFor(
      () => h.lines.find((l) => l.msg === 'greeted' && l.fields?.name === 'Logger'),
      'the greeted line',
    );
    expect(greeted).toMatchObject({
      tenant: 'sandbox-a',
      plugin: 'com.fixture.hello',
      version: '1.2.0',
      instance: info.id,
      level: 'info',
      source: 'sdk',
    });
    expect(h.lines.some((l) => l.source === 'stdout' && l.msg === 'hello plugin starting on stdout')).toBe(
      true,
    );
    expect(h.lines.some((l) => l.source === 'runtime' && l.msg === 'ready')).toBe(true);
    expect(h.lines.some((l) => l.msg.includes('debug line'))).toBe(false);
  });

  it('gets only its declared secret, and no host environment variable', async () => {
    expect((await viaProxy('/secret')).json()).toEqual({ has: true, length: API_KEY.length });
    const env = (await viaProxy('/env')).json<{ keys: string[] }>();
    // PWD is bubblewrap's (the folder it starts the plugin in, /data).
    expect(env.keys.sort()).toEqual(['LANG', 'PWD', 'PX_INSTANCE', 'TZ']);
    expect(JSON.stringify(h.lines)).not.toContain(API_KEY);
  });

  it('streams request and response bodies through the proxy', async () => {
    const body = 'x'.repeat(512 * 1024) + 'end';
    const reply = await viaProxy('/echo', {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.body).toBe(body);
  });

  it('forwards end-to-end headers only, and sets the x-forwarded ones itself', async () => {
    const seen = (
      await viaProxy('/headers', {
        headers: {
          connection: 'x-hop-secret',
          'x-hop-secret': '1',
          'x-forwarded-prefix': '/spoofed',
          'x-custom': 'kept',
          te: 'trailers',
        },
      })
    ).json<Record<string, string>>();
    expect(seen['x-custom']).toBe('kept');
    expect(seen['x-forwarded-prefix']).toBe('/_p/sandbox-a/com.fixture.hello');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen).not.toHaveProperty('x-hop-secret');
    expect(seen).not.toHaveProperty('te');
  });

  it('publishes declared events and is refused undeclared ones', async () => {
    expect((await viaProxy('/publish', { method: 'POST' })).json()).toEqual({ published: true });
    expect(h.host.published).toMatchObject([
      { tenant: 'sandbox-a', pluginId: 'com.fixture.hello', type: 'hello.greeted' },
    ]);
    expect((await viaProxy('/publish-undeclared', { method: 'POST' })).json()).toEqual({
      code: 'PERMISSION_DENIED',
    });
  });

  it('receives the events it subscribed to, for its own tenant only', async () => {
    await waitFor(() => h.host.calls.some((c) => c.op === 'subscribe'), 'the subscription');
    h.host.emit('sandbox-other', 'tenant.ping', { n: 0 });
    h.host.emit('sandbox-a', 'tenant.ping', { n: 1 });
    let received: unknown[] = [];
    for (let i = 0; i < 200 && received.length === 0; i++)
      received = (await viaProxy('/events')).json<unknown[]>();
    expect(received).toEqual([{ n: 1 }]);
  });

  it('fetches only from hosts its permissions allow', async () => {
    expect((await viaProxy(`/fetch?url=${encodeURIComponent('https://api.example.com/v1')}`)).json()).toEqual(
      { status: 200, body: 'fetched https://api.example.com/v1' },
    );
    expect((await viaProxy(`/fetch?url=${encodeURIComponent('https://evil.example.net/')}`)).json()).toEqual({
      code: 'PERMISSION_DENIED',
    });
  });

  it('answers a clear 503 while the instance is starting and 502 when there is none', async () => {
    override.set('com.fixture.hello', 'health_check');
    const starting = await viaProxy('/hello');
    override.clear();
    expect(starting.status).toBe(503);
    expect(starting.headers['retry-after']).toBe('1');
    expect(starting.json()).toMatchObject({
      code: 'INSTANCE_UNAVAILABLE',
      message: 'The plugin is health_check',
    });
    const missing = await request({ port }, '/_p/sandbox-a/com.fixture.nothing/hello');
    expect(missing.status).toBe(502);
    expect(missing.json()).toMatchObject({ code: 'INSTANCE_UNAVAILABLE', hint: expect.any(String) });
  });

  it('lets an in-flight request finish when stopped, then leaves no process or socket', async () => {
    const pid = h.supervisor.get(info.id)!.pid!;
    const slow = viaProxy('/slow?ms=800');
    // Stop once the plugin has the request in hand.
    await waitFor(() => h.lines.some((l) => l.msg === 'slow request started'), 'the slow request to start');
    const stopped = h.supervisor.stop(info.id, { graceMs: 5000, reason: 'test' });
    const reply = await slow;
    await stopped;
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ slow: true });
    expect(() => process.kill(pid, 0)).toThrow();
    expect(h.supervisor.get(info.id)).toBeUndefined();
    expect(h.lines.some((l) => l.msg === 'hello stopping' && l.source === 'sdk')).toBe(true);
    const after = await viaProxy('/hello');
    expect(after.status).toBe(502);
  });
});
