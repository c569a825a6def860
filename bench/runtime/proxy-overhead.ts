/**
 * The entry proxy's overhead beside direct requests to the instance socket: throughput, p99 and
 * CPU per request on /ping (with the front server answering itself as a bound on what any
 * in-process proxy costs), the same on a route doing two storage RPCs, and the latency the extra
 * hop adds to sequential requests.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { normalizeManifest, type ManifestSource } from '@powerx/protocol';
import { createEntryProxy, type InstanceInfo, type StartSpec, type Supervisor } from '@powerx/runtime';
import type { BenchContext, BenchResult } from '../run.ts';
import { cpuSeconds, figure, median, withinFloor } from './figures.ts';
import {
  interleaved,
  loadGenerator,
  medians,
  ownCpuPerRequest,
  requestsOf,
  type LoadGenerator,
} from './load-generator.ts';

/** Interleaved direct / proxied rounds per proxy measure (medians are reported). */
const ROUNDS = 3;
const CONNECTIONS = 8;
const PER_CONNECTION = 2500;

/** A front server on a random loopback port whose requests go through the entry proxy to `target`. */
async function proxyServer(
  target: InstanceInfo,
  path: (req: http.IncomingMessage) => string,
): Promise<{ port: number; close(): void }> {
  const proxy = createEntryProxy(() => ({ socketPath: target.socketPath, state: 'ready' }));
  const server = http.createServer((req, res) =>
    proxy(req, res, { tenant: target.tenant, pluginId: target.pluginId, path: path(req) }),
  );
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.close();
      proxy.close();
    },
  };
}

/** Core's side alone: the same front server answering /ping itself, no upstream; CPU µs per request. */
async function frontServerCpuUs(load: LoadGenerator, target: InstanceInfo, path: string): Promise<number> {
  const alone = http.createServer((_req, res) => {
    const body = JSON.stringify({ pong: 1, tenant: target.tenant, pid: process.pid });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  alone.keepAliveTimeout = 30_000;
  alone.listen(0, '127.0.0.1');
  await once(alone, 'listening');
  const port = (alone.address() as AddressInfo).port;
  const cpuUs: number[] = [];
  for (let round = 0; round < ROUNDS; round++)
    cpuUs.push(
      await ownCpuPerRequest(
        () => load({ host: '127.0.0.1', port, path }, CONNECTIONS, PER_CONNECTION),
        requestsOf(CONNECTIONS, PER_CONNECTION),
      ),
    );
  alone.close();
  return median(cpuUs);
}

/** The best req/s processes with these CPU µs per request reach when they share the machine's cores. */
function cpuBoundBestRps(cpuUsPerProcess: number[]): number {
  const sum = cpuUsPerProcess.reduce((a, b) => a + b, 0);
  return Math.min(availableParallelism() / sum, 1 / Math.max(...cpuUsPerProcess)) * 1e6;
}

export async function measureProxyOverhead(
  ctx: BenchContext,
  supervisor: Supervisor,
  spec: () => StartSpec,
  target: InstanceInfo,
): Promise<BenchResult[]> {
  const load = await loadGenerator(ctx.workDir);
  const front = await proxyServer(
    target,
    (req) => (req.url ?? '/').replace(/^\/_p\/[^/]+\/[^/]+/, '') || '/',
  );
  const proxiedTarget = {
    host: '127.0.0.1',
    port: front.port,
    path: `/_p/${target.tenant}/${target.pluginId}/ping`,
  };
  const directTarget = { socketPath: target.socketPath, path: '/ping' };
  // CPU per request of each process on the path explains the ratio (see the bound below).
  const proxyCpuUs: number[] = [];
  const pluginCpuUs: number[] = [];
  const requests = requestsOf(CONNECTIONS, PER_CONNECTION);
  const ping = await interleaved(ROUNDS, {
    direct: () => load(directTarget, CONNECTIONS, PER_CONNECTION),
    proxied: async () => {
      const pluginCpu0 = await cpuSeconds(target.pid!);
      const proxyCpu0 = process.cpuUsage();
      const result = await load(proxiedTarget, CONNECTIONS, PER_CONNECTION);
      const proxyCpu = process.cpuUsage(proxyCpu0);
      proxyCpuUs.push((proxyCpu.user + proxyCpu.system) / requests);
      pluginCpuUs.push((((await cpuSeconds(target.pid!)) - pluginCpu0) * 1e6) / requests);
      return result;
    },
  });
  // Its CPU per request is what any in-process proxy pays before it talks to the plugin at all.
  const frontCpu = await frontServerCpuUs(load, target, proxiedTarget.path);
  ctx.log(
    `front server answering itself: ${frontCpu.toFixed(0)} µs CPU per request, so the proxy's upstream side costs ≈ ${(median(proxyCpuUs) - frontCpu).toFixed(0)} µs`,
  );
  const d = medians(ping.direct);
  const p = medians(ping.proxied);
  const proxyCpu = median(proxyCpuUs);
  const pluginCpu = median(pluginCpuUs);
  ctx.log(
    `direct req/s ${ping.direct.map((r) => r.rps.toFixed(0)).join(', ')}; proxied req/s ${ping.proxied.map((r) => r.rps.toFixed(0)).join(', ')} (${CONNECTIONS} keep-alive connections × ${PER_CONNECTION} requests, ${ROUNDS} rounds each)`,
  );
  ctx.log(
    `direct ${d.rps.toFixed(0)} req/s p99 ${d.p99.toFixed(2)} ms; proxied ${p.rps.toFixed(0)} req/s p99 ${p.p99.toFixed(2)} ms (medians)`,
  );
  // With every process of the path on the same cores, a request costs the sum of their CPU
  // times and no process can go faster than one core: the best each path can do is
  // min(cores / Σ CPU, 1 / max CPU). Their ratio is the overhead the CPU cost alone explains;
  // the measured ratio adds what waking three processes instead of two per request costs.
  const bestDirectRps = cpuBoundBestRps([d.cpuUsPerRequest, pluginCpu]);
  const bestProxiedRps = cpuBoundBestRps([p.cpuUsPerRequest, proxyCpu, pluginCpu]);
  const zeroCostUpstreamRps = cpuBoundBestRps([p.cpuUsPerRequest, frontCpu, pluginCpu]);
  ctx.log(
    `even with a free upstream side (front server only) the CPU-bound best would be ${zeroCostUpstreamRps.toFixed(0)} req/s = ${(bestDirectRps / zeroCostUpstreamRps).toFixed(2)}× direct`,
  );
  ctx.log(
    `CPU per request: load generator ${d.cpuUsPerRequest.toFixed(0)} µs (direct) / ${p.cpuUsPerRequest.toFixed(0)} µs (proxied), proxy ${proxyCpu.toFixed(0)} µs, plugin ${pluginCpu.toFixed(0)} µs; ` +
      `CPU-bound best on ${availableParallelism()} cores: direct ${bestDirectRps.toFixed(0)} req/s, proxied ${bestProxiedRps.toFixed(0)} req/s = ${(bestDirectRps / bestProxiedRps).toFixed(2)}×`,
  );

  // The same comparison on a route that does real work: two storage calls over RPC to core.
  const helloDir = join(ctx.repoRoot, 'packages/runtime/fixtures/plugins/hello');
  const helloManifest = normalizeManifest(
    JSON.parse(await readFile(join(helloDir, 'manifest.json'), 'utf8')) as ManifestSource,
  );
  const hello = await supervisor.start({
    ...spec(),
    pluginId: helloManifest.id,
    version: helloManifest.version,
    versionDir: helloDir,
    manifest: helloManifest,
    config: { GREETING: 'hi' },
    secrets: { API_KEY: 'k' },
  });
  const helloFront = await proxyServer(hello, () => '/customers');
  const work = await interleaved(ROUNDS, {
    direct: () => load({ socketPath: hello.socketPath, path: '/customers' }, CONNECTIONS, 1000),
    proxied: () => load({ host: '127.0.0.1', port: helloFront.port, path: '/customers' }, CONNECTIONS, 1000),
  });
  const workDirect = medians(work.direct);
  const workProxied = medians(work.proxied);
  helloFront.close();
  ctx.log(
    `route with 2 storage RPCs: direct ${workDirect.rps.toFixed(0)} req/s p99 ${workDirect.p99.toFixed(2)} ms; proxied ${workProxied.rps.toFixed(0)} req/s p99 ${workProxied.p99.toFixed(2)} ms (medians of ${ROUNDS})`,
  );

  // One connection, sequential requests: the latency the extra hop adds.
  const sequential = await interleaved(ROUNDS, {
    direct: () => load(directTarget, 1, 4000),
    proxied: () => load(proxiedTarget, 1, 4000),
  });
  const seqDirect = medians(sequential.direct);
  const seqProxied = medians(sequential.proxied);
  ctx.log(
    `sequential (1 connection): direct p50 ${(seqDirect.p50 * 1000).toFixed(0)} µs, proxied p50 ${(seqProxied.p50 * 1000).toFixed(0)} µs; load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  front.close();
  // Throughput as time per request, so that "value / floor" reads as the overhead ratio.
  return [
    withinFloor('proxy: µs per request (direct as floor)', 1e6 / p.rps, 'µs', 1e6 / d.rps, 1.3),
    withinFloor('proxy: p99 latency (direct as floor)', p.p99, 'ms', d.p99, 1.3),
    figure('proxy: requests per second through the proxy', p.rps, 'req/s', { floor: d.rps }),
    figure('proxy: CPU µs per request in the proxy (plugin as floor)', proxyCpu, 'µs', { floor: pluginCpu }),
    figure('proxy: CPU µs per request of the front server alone (no upstream)', frontCpu, 'µs'),
    figure(
      'proxy: CPU-bound best µs per request (direct CPU-bound best as floor)',
      1e6 / bestProxiedRps,
      'µs',
      { floor: 1e6 / bestDirectRps },
    ),
    withinFloor(
      'proxy, route with 2 storage RPCs: µs per request',
      1e6 / workProxied.rps,
      'µs',
      1e6 / workDirect.rps,
      1.3,
    ),
    withinFloor('proxy, route with 2 storage RPCs: p99', workProxied.p99, 'ms', workDirect.p99, 1.3),
    withinFloor(
      'proxy: p50 of sequential requests (direct as floor)',
      seqProxied.p50 * 1000,
      'µs',
      seqDirect.p50 * 1000,
      1.3,
    ),
  ];
}
