/**
 * Core's memory while a plugin's ctx.http fetch meets a 400 MB upstream body: a real dev-mode
 * core (this process) runs tests/integration/core/fixtures/hostile-host in a tenant the operator
 * opened 127.0.0.1 for; the upstream is a separate process streaming 400 MB as fast as it is
 * read. Core's RSS is sampled every 10 ms from before the request until the plugin has its
 * answer (OUTBOUND_BODY_TOO_LARGE at the 1 MiB cap). Goal: the peak stays within the cap plus a
 * few MB of the baseline (the old code read the whole body: +1.2 GB).
 */
import { spawn } from 'node:child_process';
import { cp, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCore } from '@powerx/core';
import type { BenchContext, BenchResult } from '../run.ts';

const UPSTREAM = `
const http = require('node:http');
const chunk = Buffer.alloc(1024 * 1024, 'z');
http.createServer((req, res) => {
  let sent = 0;
  const pump = () => { while (sent < 400) { sent++; if (!res.write(chunk)) return res.once('drain', pump); } res.end(); };
  pump();
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });
`;

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export default async function outboundMemory(ctx: BenchContext): Promise<BenchResult[]> {
  const limitsFile = join(ctx.workDir, 'limits.yaml');
  const shipped = await readFile(join(ctx.repoRoot, 'config/plugins/sandbox_limits.yaml'), 'utf8');
  await writeFile(
    limitsFile,
    shipped.replace(
      /^tenants:\n/m,
      'tenants:\n  sandbox-dev:\n    outboundAllowNetworks: ["127.0.0.1/32"]\n',
    ),
  );
  const project = join(ctx.workDir, 'hostile-host');
  await cp(join(ctx.repoRoot, 'tests/integration/core/fixtures/hostile-host'), project, { recursive: true });
  process.env.PX_DEV_ROOTS = ctx.workDir;
  const core = await startCore({
    dataDir: join(ctx.workDir, 'data'),
    port: 0,
    logLevel: 'silent',
    devMode: true,
    platformKeysDir: false,
    processMetrics: false,
    limitsFile,
  });
  const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) =>
      upstream.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
    );
    const install = await fetch(`${core.url}/api/plugins/dev/install`, {
      method: 'POST',
      headers: { authorization: `Bearer ${core.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'sandbox-dev', path: project }),
    });
    if (install.status !== 200) throw new Error(`dev install: ${install.status} ${await install.text()}`);
    const target = `${core.entryUrl('sandbox-dev', 'com.fixture.hostile.host')}fetch?url=${encodeURIComponent(`http://127.0.0.1:${port}/`)}`;
    const results: BenchResult[] = [];
    for (let run = 1; run <= 3; run++) {
      global.gc?.();
      await new Promise((r) => setTimeout(r, 200));
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const answer = (await (await fetch(target)).json()) as { error?: string };
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      if (answer.error !== 'OUTBOUND_BODY_TOO_LARGE')
        throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
      ctx.log(`run ${run}: baseline ${mb(baseline)} MB, peak ${mb(peak)} MB`);
      results.push({
        suite: 'outbound-memory',
        name: `core RSS growth during a 400 MB upstream body (run ${run}, baseline ${mb(baseline)} MB)`,
        value: mb(peak - baseline),
        unit: 'MB',
        goal: '≤ 1 MB cap + 8 MB',
        met: peak - baseline <= 9 * 1024 * 1024,
      });
    }
    return results;
  } finally {
    upstream.kill();
    await core.close();
  }
}
