/**
 * Real core processes (packages/core/src/main.ts) forming one cluster on loopback: a fresh
 * PostgreSQL schema and a random NATS prefix per run (other runs share both servers), their own
 * data dir each, one master key, dev mode on. `close()` kills what is left and deletes the schema,
 * the streams and the buckets.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  createScratchSchema,
  openTestNats,
  randomNatsPrefix,
  TEST_NATS_URL,
  type ScratchSchema,
} from '@powerx/core';
import { Api, keysDir, makeTmp, packFixtures, repoRoot } from '../../support/core-kit.ts';

export interface ClusterNode {
  id: string;
  url: string;
  dataDir: string;
  api: Api;
  token: string;
  proc: ChildProcess;
  output(): string;
}

/** Default lease TTL of a test cluster (the backstop: a killed node is found gone without it). */
export const LEASE_TTL_MS = 2000;

export class TestCluster {
  readonly tmp: string;
  readonly schema: ScratchSchema;
  readonly prefix: string;
  readonly masterKey = randomBytes(32).toString('hex');
  readonly auditKey = randomBytes(32).toString('hex');
  readonly nodes = new Map<string, ClusterNode>();
  readonly leaseTtlMs: number;
  /** Every core process started, also one still starting when another node's start failed. */
  readonly #procs = new Set<ChildProcess>();

  private constructor(tmp: string, schema: ScratchSchema, prefix: string, leaseTtlMs: number) {
    this.tmp = tmp;
    this.schema = schema;
    this.prefix = prefix;
    this.leaseTtlMs = leaseTtlMs;
  }

  static async create(opts: { leaseTtlMs?: number } = {}): Promise<TestCluster> {
    const tmp = await makeTmp('pxcl-');
    await mkdir(join(tmp, 'keys'));
    await copyFile(join(keysDir, 'test.pub.pem'), join(tmp, 'keys', 'test.pub.pem'));
    return new TestCluster(
      tmp,
      await createScratchSchema(),
      randomNatsPrefix(),
      opts.leaseTtlMs ?? LEASE_TTL_MS,
    );
  }

  /** `dataDir` defaults to `<tmp>/<id>`; a node restarted under another id may keep its old one. */
  async start(
    id: string,
    extraEnv: Record<string, string> = {},
    dataDir = join(this.tmp, id),
  ): Promise<ClusterNode> {
    const proc = spawn(process.execPath, [join(repoRoot, 'packages/core/src/main.ts')], {
      env: {
        ...process.env,
        PX_DATA_DIR: dataDir,
        PX_PORT: '0',
        PX_NODE_ID: id,
        PX_DATABASE_URL: this.schema.url,
        PX_DATABASE_SCHEMA: this.schema.schema,
        PX_NATS_URL: TEST_NATS_URL,
        PX_NATS_PREFIX: this.prefix,
        PX_MASTER_KEY: this.masterKey,
        PX_AUDIT_KEY: this.auditKey,
        PX_LEASE_TTL_MS: String(this.leaseTtlMs),
        PX_RECONCILE_MS: '250',
        PX_DRAIN_MS: '1000',
        PX_PLATFORM_KEYS_DIR: join(this.tmp, 'keys'),
        PX_PLUGIN_DEV_MODE: '1',
        PX_DEV_ROOTS: this.tmp,
        PX_DEV_GRACE_MS: '300',
        PX_LOG_LEVEL: process.env.PX_TEST_LOG_LEVEL ?? 'warn',
        HOME: this.tmp,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#procs.add(proc);
    let text = '';
    proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      // Generous: a node starting on a machine loaded by parallel runs; a hang must still end.
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`node ${id} did not listen within 120 s: ${text}`));
      }, 120_000);
      const onData = () => {
        const m = /listening on (http:\/\/\S+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node ${id} exited with ${code}: ${text}`));
      });
    });
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const node: ClusterNode = { id, url, dataDir, api: new Api(url, token), token, proc, output: () => text };
    this.nodes.set(id, node);
    return node;
  }

  /** kill -9: no drain, no lease release — the cluster has to notice by itself. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.nodes.get(id)!;
    if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
    const exited = exitOf(node, 30_000);
    node.proc.kill(signal);
    await exited;
  }

  async close(): Promise<void> {
    for (const id of this.nodes.keys()) await this.kill(id, 'SIGKILL').catch(() => {});
    // A node whose start was still pending when the set-up failed is in no map: it goes too.
    for (const proc of this.#procs)
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        await exited;
      }
    await this.schema.drop().catch(() => {});
    const nats = await openTestNats(1, { prefix: this.prefix });
    await nats.close();
    // A node killed with SIGKILL leaves its plugins' data volumes mounted (the runtime mounts one
    // per plugin where the host allows): detach them before the folder goes.
    const mounts = (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .map((line) => line.split(' ')[1])
      .filter((path) => path?.startsWith(`${this.tmp}/`))
      .sort()
      .reverse();
    for (const path of mounts) await promisify(execFile)('umount', ['-l', path]).catch(() => {});
    // The plugin processes of a node killed with SIGKILL exit by themselves, a moment later, and
    // may still write in their folders while they go (ENOTEMPTY): retried, not failed.
    await rm(this.tmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  }
}

/** The node's exit code once it exits; fails (with its output) when it has not within `timeoutMs`. */
export function exitOf(node: ClusterNode, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`node ${node.id} did not exit within ${timeoutMs} ms: ${node.output().slice(-2000)}`),
        ),
      timeoutMs,
    );
    node.proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export async function until<T>(
  fn: () => Promise<T> | T,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * GET that never throws and never hangs: a refused connection, or no full answer within
 * `timeoutMs`, is status 0.
 */
export async function probe(url: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, text: await r.text() };
  } catch (error) {
    return { status: 0, text: String((error as Error).cause ?? error) };
  }
}

/** Whether a path exists (a file or folder a node should, or should not, have left). */
export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The set-up most cluster tests share: a fresh cluster, the fixture packages, nodes A and B. */
export async function startTwoNodes(): Promise<{
  cluster: TestCluster;
  pkgs: Record<string, string>;
  a: ClusterNode;
  b: ClusterNode;
}> {
  const cluster = await TestCluster.create();
  const pkgs = await packFixtures(join(cluster.tmp, 'pkgs'));
  const [a, b] = await Promise.all([cluster.start('node-a'), cluster.start('node-b')]);
  return { cluster, pkgs, a, b };
}
