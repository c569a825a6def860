/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * What a hostile plugin tries through core's host services, on a real dev-mode core running the
 * plugin in its sandbox: reaching core's own API and metrics (and other private addresses) with
 * ctx.http, pulling a huge upstream body into core, and filling core's database through
 * ctx.storage. Each is refused with its own error code; an operator allow-list opens a network
 * for one tenant only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  coreFixtures,
  makeTmp,
  repoRoot,
  startTestCore,
  stopTestCore,
  type TestCore,
} from '../../support/core-kit.ts';

const run = promisify(execFile);

process.env.PX_DEV_ROOTS = tmpdir();
const PLUGIN = 'com.fixture.hostile.host';
const PLUGIN_2 = 'com.fixture.hostile.host-two';

let core: TestCore;
let upstream: http.Server;
let upstreamPort: number;

beforeAll(async () => {
  const tmp = await makeTmp('pxc-host-');
  const shipped = await readFile(
    join(coreFixtures, '../../../../config/plugins/sandbox_limits.yaml'),
    'utf8',
  );
  const limitsFile = join(tmp, 'limits.yaml');
  // The shipped file with four more tenants (inserted under `tenants:`).
  await writeFile(
    limitsFile,
    shipped.replace(
      /^tenants:\n/m,
      `tenants:
  opened:
    outboundAllowNetworks: ["127.0.0.1/32"]
  small:
    maxStorageMb: 12
    maxStorageDocKb: 256
  tiny:
    maxStorageMb: 4
`,
    ),
  );
  core = await startTestCore({ tmp, devMode: true, limitsFile, processMetrics: false });
  upstream = http.createServer((req, res) => {
    if (req.url !== '/huge') return res.end('upstream ok');
    // 400 MB, as fast as it is taken.
    const chunk = Buffer.alloc(1024 * 1024, 'z');
    let sent = 0;
    const pump = () => {
      while (sent < 400) {
        sent++;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  for (const tenant of ['attack', 'opened', 'small']) {
    const created = await core.api.post('/api/tenants', { id: tenant, kind: 'sandbox' });
    expect(created.status).toBe(201);
    const dir = join(core.tmp, `project-${tenant}`);
    await cp(join(coreFixtures, 'hostile-host'), dir, { recursive: true });
    const r = await core.api.post('/api/plugins/dev/install', { tenant, path: dir });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
  // A second plugin in "small" (the same code under another id): 8 + 8 MB declared, 12 MB allowed.
  const second = join(core.tmp, 'project-small-2');
  await cp(join(coreFixtures, 'hostile-host'), second, { recursive: true });
  const manifest = JSON.parse(await readFile(join(second, 'manifest.json'), 'utf8'));
  await writeFile(join(second, 'manifest.json'), JSON.stringify({ ...manifest, id: PLUGIN_2 }));
  const r = await core.api.post('/api/plugins/dev/install', { tenant: 'small', path: second });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}, 120_000);
afterAll(async () => {
  upstream?.close();
  await stopTestCore(core);
});

async function call(tenant: string, path: string, method = 'GET'): Promise<any> {
  const r = await fetch(`${core.entryUrl(tenant, PLUGIN)}${path.replace(/^\//, '')}`, { method });
  return r.json();
}
const fetchVia = (tenant: string, url: string) => call(tenant, `/fetch?url=${encodeURIComponent(url)}`);

describe('ctx.http of a hostile plugin', () => {
  it("cannot reach core's own metrics and API, however the address is written", async () => {
    for (const url of [
      `http://127.0.0.1:${core.port}/metrics`,
      `http://2130706433:${core.port}/api/tenants`,
      `http://localhost:${core.port}/healthz`,
    ]) {
      const r = await fetchVia('attack', url);
      expect(r, url).toMatchObject({ error: 'OUTBOUND_ADDRESS_BLOCKED' });
      expect(JSON.stringify(r)).not.toContain('plugin_install');
    }
  });

  it('reaches a loopback service only in the tenant the operator opened it for', async () => {
    const url = `http://127.0.0.1:${upstreamPort}/`;
    expect(await fetchVia('attack', url)).toMatchObject({ error: 'OUTBOUND_ADDRESS_BLOCKED' });
    expect(await fetchVia('opened', url)).toMatchObject({ ok: true, status: 200, head: 'upstream ok' });
  });

  it('gets a 400 MB upstream body cut at the cap, with its own code', async () => {
    expect(await fetchVia('opened', `http://127.0.0.1:${upstreamPort}/huge`)).toMatchObject({
      error: 'OUTBOUND_BODY_TOO_LARGE',
    });
    // Core is still fine.
    expect((await fetch(`${core.url}/healthz`)).status).toBe(200);
  });
});

describe('ctx.storage of a hostile plugin', () => {
  it('200 inserts of 900 KiB stop at resources.storageMb with QUOTA_STORAGE, and the database stays small', async () => {
    const db = join(core.dataDir, 'core.db');
    const sizeBefore = (await stat(db)).size + (await stat(`${db}-wal`).catch(() => ({ size: 0 }))).size;
    const r = await call('attack', '/fill?n=200&kb=900', 'POST');
    expect(r).toMatchObject({ error: 'QUOTA_STORAGE' });
    expect(r.inserted).toBeGreaterThanOrEqual(8);
    expect(r.inserted).toBeLessThanOrEqual(9); // storageMb: 8
    const sizeAfter = (await stat(db)).size + (await stat(`${db}-wal`).catch(() => ({ size: 0 }))).size;
    expect(sizeAfter - sizeBefore).toBeLessThan(20 * 1024 * 1024);

    // Usage is shown beside memory and disk.
    const detail = await core.api.get(`/api/tenants/attack/plugins/${PLUGIN}`);
    expect(detail.body.storage.limitMb).toBe(8);
    expect(detail.body.storage.usedBytes).toBeGreaterThan(r.inserted * 900 * 1000);
    expect(detail.body.storage.usedBytes).toBeLessThanOrEqual(8 * 1024 * 1024);

    const status = await run(
      process.execPath,
      [join(repoRoot, 'packages/cli/src/main.ts'), 'status', PLUGIN, '--tenant', 'attack'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: core.tmp,
          NO_COLOR: '1',
          PX_API_URL: core.url,
          PX_TOKEN: core.adminToken,
        },
      },
    );
    expect(status.stdout).toMatch(/storage\s+\d+\.\d of 8 MB/);

    // Deleting frees what was counted; writing works again.
    expect((await call('attack', '/blobs', 'DELETE')).deleted).toBe(r.inserted);
    expect((await core.api.get(`/api/tenants/attack/plugins/${PLUGIN}`)).body.storage.usedBytes).toBe(0);
    expect(await call('attack', '/fill?n=2&kb=900', 'POST')).toMatchObject({ ok: true, inserted: 2 });
  });

  it("the tenant maximum bounds the sum of the tenant's plugins, as they write", async () => {
    const first = await call('small', '/fill?n=200&kb=200', 'POST');
    expect(first).toMatchObject({
      error: 'QUOTA_STORAGE',
      message: expect.stringContaining('plugin storage'),
    });
    const r = await fetch(`${core.entryUrl('small', PLUGIN_2)}fill?n=200&kb=200`, { method: 'POST' });
    const second = (await r.json()) as { inserted: number; error?: string; message?: string };
    expect(second).toMatchObject({
      error: 'QUOTA_STORAGE',
      message: expect.stringContaining('tenant small'),
    });
    // 12 MiB − ~7.8 MiB left, in 200 KiB documents.
    expect(second.inserted).toBeGreaterThanOrEqual(18);
    expect(second.inserted).toBeLessThanOrEqual(22);
    const usage = (await core.api.get('/api/tenants/small/plugins')).body.plugins as Array<{
      storage: { usedBytes: number };
    }>;
    expect(usage.reduce((sum, p) => sum + p.storage.usedBytes, 0)).toBeLessThanOrEqual(12 * 1024 * 1024);
  });

  it('a plugin declaring more storage than the tenant maximum is refused at install (QUOTA_EXCEEDED)', async () => {
    await core.api.post('/api/tenants', { id: 'tiny', kind: 'sandbox' });
    const dir = join(core.tmp, 'project-tiny');
    await cp(join(coreFixtures, 'hostile-host'), dir, { recursive: true });
    const r = await core.api.post('/api/plugins/dev/install', { tenant: 'tiny', path: dir });
    expect(r.body).toMatchObject({
      result: 'failed',
      error: {
        code: 'QUOTA_EXCEEDED',
        message: expect.stringContaining('storageMb 8 MB > the tenant maximum 4 MB'),
      },
    });
  });

  it("a single document over the tenant's document cap is refused with STORAGE_DOC_TOO_LARGE", async () => {
    expect(await call('small', '/big-doc?kb=512', 'POST')).toMatchObject({ error: 'STORAGE_DOC_TOO_LARGE' });
    // Under the cap, the same document size is fine in a tenant with room.
    expect(await call('attack', '/big-doc?kb=512', 'POST')).toMatchObject({ ok: true });
  });
});

describe('the entry point of a plugin that does not exist', () => {
  it('answers 404 ENTRY_PLUGIN_NOT_FOUND (not a 502 that reads like an outage)', async () => {
    for (const path of [`/_p/attack/com.fixture.nothing/`, `/_p/no-such-tenant/${PLUGIN}/x?y=1`]) {
      const r = await fetch(`${core.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(await r.json()).toMatchObject({ code: 'ENTRY_PLUGIN_NOT_FOUND', hint: expect.any(String) });
    }
    // An installed plugin still answers.
    expect((await fetch(`${core.entryUrl('attack', PLUGIN)}healthz`)).status).toBe(200);
  });
});
