/**
 * A real Prometheus server (the Debian `prometheus` package) for the ops tests: its own binary on
 * a free loopback port, a temp storage folder and config, scraping the given targets every second
 * and evaluating the shipped alert rules every second. stop() kills it and removes the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The external label runbook_base of the test Prometheus. */
export const RUNBOOK_BASE = 'https://git.example.test/powerx/plugin-sandbox/blob/main';

export interface PromServer {
  url: string;
  stop(): Promise<void>;
  /** GET /api/v1/query; throws on an HTTP or PromQL error. */
  query(expr: string): Promise<PromVector>;
  /** Resolves once every target was scraped successfully at least `scrapes` times (by `up`). */
  waitForScrapes(job: string, scrapes: number, timeoutMs?: number): Promise<void>;
  output(): string;
}

export type PromVector = Array<{ metric: Record<string, string>; value: [number, string] }>;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(opts: {
  targets: string[];
  ruleFiles?: string[];
  job?: string;
}): Promise<PromServer> {
  const dir = await mkdtemp(join(tmpdir(), 'px-prom-'));
  const rules: string[] = [];
  for (const [i, file] of (opts.ruleFiles ?? []).entries()) {
    const copy = join(dir, `rules-${i}.yml`);
    await copyFile(file, copy);
    rules.push(copy);
  }
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    // What an operator sets so the alerts' runbook_url is absolute (deploy/prometheus/alerts.yml).
    `  external_labels: { runbook_base: ${JSON.stringify(RUNBOOK_BASE)} }`,
    ...(rules.length ? ['rule_files:', ...rules.map((r) => `  - ${JSON.stringify(r)}`)] : []),
    'scrape_configs:',
    `  - job_name: ${opts.job ?? 'powerx-core'}`,
    '    metrics_path: /metrics',
    `    static_configs: [{ targets: ${JSON.stringify(opts.targets)} }]`,
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config + '\n');
  let lastError: unknown;
  // The port is free when picked; if another process takes it first, try another one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, () => out);
      return makeServer(url, child, dir, () => out, opts.job ?? 'powerx-core');
    } catch (error) {
      lastError = error;
      await kill(child);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output()}`);
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`prometheus did not become ready:\n${output()}`);
}

function makeServer(
  url: string,
  child: ChildProcess,
  dir: string,
  output: () => string,
  job: string,
): PromServer {
  const query = async (expr: string): Promise<PromVector> => {
    const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await r.json()) as {
      status: string;
      error?: string;
      errorType?: string;
      data?: { resultType: string; result: PromVector };
    };
    if (body.status !== 'success')
      throw new Error(`PromQL error for ${expr}: ${body.errorType}: ${body.error}`);
    if (body.data!.resultType !== 'vector')
      throw new Error(`expected a vector for ${expr}, got ${body.data!.resultType}`);
    return body.data!.result;
  };
  return {
    url,
    query,
    output,
    async waitForScrapes(scrapeJob = job, scrapes = 1, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const up = await query(
          `count_over_time(up{job="${scrapeJob}"}[5m]) >= ${scrapes} and up{job="${scrapeJob}"} == 1`,
        ).catch(() => []);
        if (up.length) return;
        if (Date.now() > deadline)
          throw new Error(`${scrapeJob} was not scraped ${scrapes} times:\n${output()}`);
        await sleep(250);
      }
    },
    async stop() {
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check` returns a value (not undefined), polling; for values Prometheus computes from scrapes. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(250);
  }
}
