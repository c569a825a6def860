/**
 * Dev hot reload: save-to-serving latency over 20 reloads of the hello example, the
 * way a developer lives it — a dev-mode core, the real `px-plugin dev --watch` process on a copy
 * of examples/hello, a file saved with a new response text, and the clock stopped when the test
 * entry point first answers with that text (polled every 5 ms). Goal: p95 under 1 s.
 * Also reported: the share of it spent in core (push → serving, from the CLI's timing line).
 */
import { spawn } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCore } from '@powerx/core';
import type { BenchContext, BenchResult } from '../run.ts';

const RELOADS = 20;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export default async function devReload(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = join(ctx.workDir, 'hello');
  await cp(join(ctx.repoRoot, 'examples/hello'), dir, {
    recursive: true,
    filter: (src) => !src.includes('node_modules') && !src.endsWith('.pxp'),
  });
  process.env.PX_DEV_ROOTS = ctx.workDir;
  const core = await startCore({
    dataDir: join(ctx.workDir, 'data'),
    port: 0,
    logLevel: 'silent',
    devMode: true,
    platformKeysDir: false,
    processMetrics: false,
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(ctx.workDir, 'home'),
    PX_API_URL: core.url,
    PX_TOKEN: core.adminToken,
    NO_COLOR: '1',
  };
  const child = spawn(
    process.execPath,
    [join(ctx.repoRoot, 'packages/cli/bin/px-plugin.js'), 'dev', '--watch', '--no-logs'],
    { cwd: dir, env },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const entry = `${core.entryUrl('sandbox-dev', 'com.powerx.plugin.hello')}hello?name=bench`;
  const waitOutput = async (re: RegExp) => {
    for (let i = 0; i < 1200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 25));
    if (!re.test(out)) throw new Error(`px-plugin dev did not print ${re}:\n${out}`);
  };
  const latencies: number[] = [];
  const coreMs: number[] = [];
  try {
    await waitOutput(/reload #1 ✓/);
    const server = join(dir, 'src/server.ts');
    const original = await readFile(server, 'utf8');
    for (let i = 1; i <= RELOADS; i++) {
      const text = `bench reload ${i}`;
      await new Promise((r) => setTimeout(r, 150)); // a developer does not save twice in 150 ms
      const t0 = performance.now();
      await writeFile(server, original.replace('`${String(ctx.config.GREETING)}, ${who}!`', `\`${text}\``));
      for (;;) {
        const body = await fetch(entry).then(
          (r) => r.text(),
          () => '',
        );
        if (body.includes(text)) break;
        if (performance.now() - t0 > 30_000) throw new Error(`reload ${i} never served:\n${out}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - t0);
    }
    // Core's share, from the CLI's timing lines of the reloads after the first install.
    for (const m of out.matchAll(/reload #(\d+) ✓[^\n]*\n\s*build (\d+) ms[^\n]*· total (\d+) ms/g))
      if (Number(m[1]) > 1) coreMs.push(Number(m[3]) - Number(m[2]));
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    await core.close();
  }
  ctx.log(`save-to-serving (ms): ${latencies.map((l) => Math.round(l)).join(' ')}`);
  const p95 = percentile(latencies, 95);
  return [
    {
      suite: 'dev-reload',
      name: `save-to-serving p50 (${RELOADS} reloads, hello example)`,
      value: percentile(latencies, 50),
      unit: 'ms',
    },
    {
      suite: 'dev-reload',
      name: `save-to-serving p95 (${RELOADS} reloads, hello example)`,
      value: p95,
      unit: 'ms',
      goal: '< 1000 ms',
      met: p95 < 1000,
    },
    ...(coreMs.length
      ? [
          {
            suite: 'dev-reload',
            name: 'in core: push → serving p50',
            value: percentile(coreMs, 50),
            unit: 'ms',
          },
        ]
      : []),
  ];
}
