/**
 * Runtime figures: cold start to healthy beside a bare `node -e 0` spawn (bench/runtime/cold-start.ts),
 * memory per idle instance and how many fit on this machine (idle-memory.ts), the entry proxy's
 * overhead beside direct requests to the instance socket (proxy-overhead.ts), what masking secrets
 * costs per log line (log-masking.ts), and the worst overshoot of a sampled disk quota
 * (sandbox-figures.ts).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { normalizeManifest, type ManifestSource } from '@powerx/protocol';
import { Supervisor, type HostServices, type StartSpec } from '@powerx/runtime';
import type { BenchContext, BenchResult } from '../run.ts';
import { bareSpawnMs, measureColdStart } from '../runtime/cold-start.ts';
import { figure } from '../runtime/figures.ts';
import { measureIdleMemory } from '../runtime/idle-memory.ts';
import { measureLogMasking } from '../runtime/log-masking.ts';
import { measureProxyOverhead } from '../runtime/proxy-overhead.ts';
import { sampledDiskOvershoot } from '../runtime/sandbox-figures.ts';

const nullHost: HostServices = {
  storage: {
    insert: async (_t, _p, _c, doc) => ({ ...doc, id: '1' }),
    get: async () => undefined,
    find: async () => [],
    update: async () => undefined,
    delete: async () => false,
    count: async () => 0,
  },
  events: { publish: async () => undefined, subscribe: () => () => undefined },
  fetch: async () => ({ status: 204, headers: {}, body: '' }),
};

export default async function runtimeSuite(ctx: BenchContext): Promise<BenchResult[]> {
  const fixture = join(ctx.repoRoot, 'packages/runtime/fixtures/plugins/neighbour');
  const manifest = normalizeManifest(
    JSON.parse(await readFile(join(fixture, 'manifest.json'), 'utf8')) as ManifestSource,
  );
  const supervisor = new Supervisor({
    runDir: join(ctx.workDir, 'run'),
    logSink: { write: () => undefined },
    host: nullHost,
    quotaSampleMs: 5000,
  });
  let n = 0;
  const spec = (): StartSpec => ({
    tenant: `bench-${n}`,
    pluginId: manifest.id,
    version: manifest.version,
    versionDir: fixture,
    dataDir: join(ctx.workDir, 'data', String(n++)),
    manifest,
    config: {},
    secrets: {},
    logLevel: 'info',
  });
  const results: BenchResult[] = [];
  try {
    ctx.log(
      `load average at the start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (${availableParallelism()} cores)`,
    );
    // Warm-up: builds the runner bundle once and pages the node binary in.
    await supervisor.stop((await supervisor.start(spec())).id);
    await bareSpawnMs();

    results.push(...(await measureColdStart(ctx, supervisor, spec)));
    const idle = await measureIdleMemory(ctx, supervisor, spec);
    results.push(...idle.results);
    // One idle instance stays: the proxy is measured against it.
    await Promise.all(idle.idle.slice(1).map((i) => supervisor.stop(i.id, { graceMs: 1000 })));
    results.push(...(await measureProxyOverhead(ctx, supervisor, spec, idle.idle[0])));
  } finally {
    await supervisor.stopAll({ graceMs: 1000 });
  }
  results.push(...(await measureLogMasking(ctx)));
  // ---- disk: a quota held by ext4 cannot be overshot; a sampled one can, by this much at worst
  const overshoot = await sampledDiskOvershoot(ctx);
  for (const line of overshoot.lines) ctx.log(`sampled disk quota, ${line}`);
  results.push(
    figure('sampled disk quota (no loop devices): worst overshoot past 16 MB', overshoot.worstMb, 'MB'),
    figure('sampled disk quota: worst entries past the 4096-file limit', overshoot.worstFiles, 'files'),
  );
  return results;
}
