/**
 * The repository's examples/hello, built the way `px-plugin build` bundles it (esbuild, ESM, the
 * SDK bundled in) into a fresh version folder, run under the runtime: it answers through the
 * entry proxy, sees its configuration and its generated test data, and its logs reach the sink.
 */
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeManifest, type ManifestSource } from '@powerx/protocol';
import { createEntryProxy, type InstanceInfo } from '@powerx/runtime';
import { generateTestData } from '@powerx/runtime/test-data';
import { fixturesDir, harness, request, waitFor, type Harness } from './helpers.ts';

const exampleDir = resolve(fixturesDir, '../../../../examples/hello');

describe('examples/hello under the runtime', () => {
  let h: Harness;
  let info: InstanceInfo;
  let server: http.Server;
  let port: number;
  let closeProxy: () => void;

  beforeAll(async () => {
    h = await harness();
    const versionDir = join(h.root, 'versions', 'hello');
    await mkdir(join(versionDir, 'dist'), { recursive: true });
    const manifest = normalizeManifest(
      parse(await readFile(join(exampleDir, 'plugin.yaml'), 'utf8')) as ManifestSource,
    );
    await writeFile(join(versionDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    await build({
      entryPoints: [join(exampleDir, 'src/server.ts')],
      outfile: join(versionDir, manifest.runtime.entry),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      logLevel: 'silent',
    });
    const spec = {
      ...(await h.spec('neighbour')),
      pluginId: manifest.id,
      version: manifest.version,
      versionDir,
      dataDir: join(h.root, 'data', 'sandbox-a', manifest.id),
      manifest,
      config: { GREETING: 'Grüezi' },
      secrets: { API_KEY: 'k-123' },
      logLevel: manifest.config.logLevel,
    };
    info = await h.supervisor.start(spec);
    const data = generateTestData(manifest.sandbox.testData, 'install-example');
    for (const [collection, records] of Object.entries(data))
      for (const r of records) await h.host.storage.insert(spec.tenant, spec.pluginId, collection, r);
    await h.supervisor.runSeed(info.id);
    const proxy = createEntryProxy((tenant, pluginId) =>
      tenant === info.tenant && pluginId === info.pluginId
        ? { socketPath: info.socketPath, state: h.supervisor.get(info.id)!.state }
        : undefined,
    );
    closeProxy = proxy.close;
    server = http.createServer((req, res) => {
      const m = /^\/_p\/([^/]+)\/([^/]+)(\/.*)?$/.exec(req.url ?? '')!;
      proxy(req, res, { tenant: m[1], pluginId: m[2], path: m[3] ?? '/' });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    closeProxy?.();
    server?.close();
    await h?.close();
  });

  it('answers its entry URL (/) with an index of its routes, so the URL install prints works', async () => {
    const reply = await request({ port }, `/_p/sandbox-a/${info.pluginId}/`);
    expect(reply.status).toBe(200);
    const body = reply.json<{ plugin: { id: string }; routes: Record<string, string> }>();
    expect(body.plugin.id).toBe(info.pluginId);
    expect(Object.keys(body.routes)).toEqual(
      expect.arrayContaining(['GET /hello?name=Ada', 'GET /customers?limit=10&offset=0', 'GET /healthz']),
    );
  });

  it('greets through the proxy from its configuration, with its test data and seeded record', async () => {
    const reply = await request({ port }, `/_p/sandbox-a/${info.pluginId}/hello?name=Ada`);
    expect(reply.status).toBe(200);
    const body = reply.json<{
      message: string;
      customers: number;
      apiKeyConfigured: boolean;
      firstCustomer: Record<string, unknown>;
    }>();
    expect(body.message).toBe('Grüezi, Ada!');
    expect(body.customers).toBe(26); // 25 generated + 1 from the seed hook
    expect(body.apiKeyConfigured).toBe(true);
    expect(['Berlin', 'Lisbon', 'Osaka', 'Toronto', 'Nairobi', 'Santiago']).toContain(
      body.firstCustomer.city,
    );
    expect(h.host.published).toMatchObject([
      { tenant: 'sandbox-a', type: 'hello.greeted', payload: { who: 'Ada' } },
    ]);
  });

  it('pages its customers and finds the seeded one', async () => {
    const page = (await request({ port }, `/_p/sandbox-a/${info.pluginId}/customers?limit=5`)).json<{
      total: number;
      items: Array<{ id: string; email: string }>;
    }>();
    expect(page.total).toBe(26);
    expect(page.items).toHaveLength(5);
    const ada = h.host
      .docs('sandbox-a', info.pluginId, 'customers')
      .find((c) => c.email === 'ada@example.com')!;
    const one = await request({ port }, `/_p/sandbox-a/${info.pluginId}/customers/${ada.id}`);
    expect(one.json()).toMatchObject({ name: 'Ada Lovelace', seeded: true });
    expect((await request({ port }, `/_p/sandbox-a/${info.pluginId}/customers/nope`)).status).toBe(404);
  });

  it('sends its logs to the sink', async () => {
    await waitFor(
      () => h.lines.find((l) => l.instance === info.id && l.msg === 'greeted'),
      'the greeted line',
    );
    expect(h.lines.some((l) => l.instance === info.id && l.source === 'sdk' && l.msg === 'started')).toBe(
      true,
    );
    expect(
      h.lines.some(
        (l) =>
          l.instance === info.id && l.source === 'sdk' && l.msg === 'seeded' && l.fields?.customers === 26,
      ),
    ).toBe(true);
    expect(JSON.stringify(h.lines)).not.toContain('k-123');
  });
});
