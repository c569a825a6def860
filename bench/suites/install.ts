/**
 * Install latency: upload of a signed .pxp to state `running` (HTTP request with
 * ?wait=true, so it includes upload, validation, provisioning, process start, health gate and
 * seeding), p50/p95 for the hello fixture and for a 20 MB plugin, and the same for both with 10
 * concurrent installs into 10 tenants. Each install is a fresh one (uninstalled in between,
 * untimed). The floor is a bare `node -e 0` spawn: no install can start a plugin faster.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openAsBlob } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { packDirectory } from '@powerx/package-format';
import { startCore } from '@powerx/core';
import type { BenchContext, BenchResult } from '../run.ts';

const HELLO_ID = 'com.fixture.core.hello';
const SEQUENTIAL_RUNS = 20;
const BIG_RUNS = 5;
const CONCURRENT_TENANTS = 10;
const CONCURRENT_ROUNDS = 3;
const BIG_CONCURRENT_ROUNDS = 2;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function bareSpawnMs(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: {} });
  await once(child, 'exit');
  return performance.now() - t0;
}

export default async function installSuite(ctx: BenchContext): Promise<BenchResult[]> {
  const keys = join(ctx.repoRoot, 'packages/package-format/fixtures/keys');
  const privateKeyPem = await readFile(join(keys, 'test.key.pem'), 'utf8');
  const publicKeyPem = await readFile(join(keys, 'test.pub.pem'), 'utf8');
  const hello = (
    await packDirectory(join(ctx.repoRoot, 'tests/fixtures/plugins/hello'), join(ctx.workDir, 'hello.pxp'), {
      privateKeyPem,
    })
  ).file;
  // The 20 MB plugin: hello plus 20 MB of incompressible assets.
  const bigDir = join(ctx.workDir, 'big-src');
  await cp(join(ctx.repoRoot, 'tests/fixtures/plugins/hello'), bigDir, { recursive: true });
  await writeFile(join(bigDir, 'dist', 'assets.bin'), randomBytes(20 * 1024 * 1024));
  const big = await packDirectory(bigDir, join(ctx.workDir, 'big.pxp'), { privateKeyPem });
  ctx.log(`hello.pxp and big.pxp (${(big.bytes / 1024 / 1024).toFixed(1)} MB) packed`);

  const core = await startCore({
    dataDir: join(ctx.workDir, 'data'),
    port: 0,
    logLevel: 'silent',
    platformKeys: [publicKeyPem],
    platformKeysDir: false,
    processMetrics: false,
  });
  const auth = { authorization: `Bearer ${core.adminToken}` };

  async function install(pxp: string, tenant: string): Promise<number> {
    const form = new FormData();
    form.append('tenant', tenant);
    form.append('package', await openAsBlob(pxp), 'package.pxp');
    const t0 = performance.now();
    const r = await fetch(`${core.url}/api/plugins/install/local?wait=true`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    const body = (await r.json()) as { state?: string; code?: string; message?: string };
    const ms = performance.now() - t0;
    if (body.state !== 'running')
      throw new Error(`install into ${tenant} failed: ${body.code} ${body.message}`);
    return ms;
  }
  async function uninstall(tenant: string): Promise<void> {
    const r = await fetch(`${core.url}/api/tenants/${tenant}/plugins/${HELLO_ID}`, {
      method: 'DELETE',
      headers: auth,
    });
    if (r.status !== 204) throw new Error(`uninstall from ${tenant}: ${r.status}`);
  }

  try {
    const floors: number[] = [];
    for (let i = 0; i < 5; i++) floors.push(await bareSpawnMs());
    const floor = percentile(floors, 50);

    // Warm-up (runner bundle, JIT), not counted.
    await install(hello, 'sandbox-dev');
    await uninstall('sandbox-dev');

    const helloMs: number[] = [];
    for (let i = 0; i < SEQUENTIAL_RUNS; i++) {
      helloMs.push(await install(hello, 'sandbox-dev'));
      await uninstall('sandbox-dev');
    }
    ctx.log(`hello: ${helloMs.map((v) => v.toFixed(0)).join(' ')} ms`);

    const bigMs: number[] = [];
    for (let i = 0; i < BIG_RUNS; i++) {
      bigMs.push(await install(big.file, 'sandbox-dev'));
      await uninstall('sandbox-dev');
    }
    ctx.log(`20 MB: ${bigMs.map((v) => v.toFixed(0)).join(' ')} ms`);

    const tenants = Array.from({ length: CONCURRENT_TENANTS }, (_, i) => `bench-${i}`);
    for (const id of tenants) {
      const r = await fetch(`${core.url}/api/tenants`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ id, kind: 'sandbox' }),
      });
      if (r.status !== 201) throw new Error(`create tenant ${id}: ${r.status}`);
    }
    const concurrentMs: number[] = [];
    const wallMs: number[] = [];
    for (let round = 0; round < CONCURRENT_ROUNDS; round++) {
      const t0 = performance.now();
      concurrentMs.push(...(await Promise.all(tenants.map((t) => install(hello, t)))));
      wallMs.push(performance.now() - t0);
      await Promise.all(tenants.map((t) => uninstall(t)));
    }
    ctx.log(`10 concurrent: ${concurrentMs.map((v) => v.toFixed(0)).join(' ')} ms`);

    // The same with the 20 MB plugin: 10 uploads of 20 MB at once (200 MB through one core).
    const bigConcurrentMs: number[] = [];
    const bigWallMs: number[] = [];
    for (let round = 0; round < BIG_CONCURRENT_ROUNDS; round++) {
      const t0 = performance.now();
      bigConcurrentMs.push(...(await Promise.all(tenants.map((t) => install(big.file, t)))));
      bigWallMs.push(performance.now() - t0);
      await Promise.all(tenants.map((t) => uninstall(t)));
    }
    ctx.log(`10 concurrent 20 MB: ${bigConcurrentMs.map((v) => v.toFixed(0)).join(' ')} ms`);

    const p95Hello = percentile(helloMs, 95);
    return [
      {
        suite: 'install',
        name: 'hello upload→running p50',
        value: percentile(helloMs, 50),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: 'hello upload→running p95',
        value: p95Hello,
        unit: 'ms',
        floor,
        goal: 'p95 < 1000 ms',
        met: p95Hello < 1000,
      },
      {
        suite: 'install',
        name: '20 MB plugin upload→running p50',
        value: percentile(bigMs, 50),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: '20 MB plugin upload→running p95',
        value: percentile(bigMs, 95),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: '10 concurrent installs (10 tenants) p50',
        value: percentile(concurrentMs, 50),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: '10 concurrent installs (10 tenants) p95',
        value: percentile(concurrentMs, 95),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: '10 concurrent installs: wall time of all 10',
        value: percentile(wallMs, 50),
        unit: 'ms',
      },
      {
        suite: 'install',
        name: '20 MB plugin, 10 concurrent installs (10 tenants) p50',
        value: percentile(bigConcurrentMs, 50),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: '20 MB plugin, 10 concurrent installs (10 tenants) p95',
        value: percentile(bigConcurrentMs, 95),
        unit: 'ms',
        floor,
      },
      {
        suite: 'install',
        name: '20 MB plugin, 10 concurrent installs: wall time of all 10',
        value: percentile(bigWallMs, 50),
        unit: 'ms',
      },
    ];
  } finally {
    await core.close();
  }
}
