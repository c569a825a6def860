/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * Three real core processes on loopback sharing one PostgreSQL schema and one NATS prefix: the
 * any-node entry point, logs across nodes, a dev hot reload through another node than the owner
 * under load, kill -9 of the owner (failover within a stated bound, no install stuck, no audit
 * entry lost), and an uninstall through a third node that removes the plugin everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELLO_ID, packFixtures } from '../../support/core-kit.ts';
import { LAUNCHER, shellEnv } from '../cli/run-cli.ts';
import { FIXTURES, WsClient, type TestCore } from '../dev/dev-kit.ts';
import { TestCluster, probe, until, type ClusterNode } from './cluster-kit.ts';

/**
 * The lease TTL is set far above the failover bound: a killed node must be found gone by asking
 * it (its liveness subject has no responders once its NATS connection closed), not by waiting
 * for its leases to expire.
 */
const LEASE_TTL_MS = 30_000;
/**
 * The failover bound this test holds the cluster to: the stated 5 s (detection at the next
 * reconcile or the first failed forward, then the plugin's start) plus room for a machine shared
 * by parallel test runs — still well under the lease TTL. `npm run bench` measures the real figure.
 */
const FAILOVER_BOUND_MS = 5_000 + 7_000;
const DEV_PLUGIN = 'com.fixture.dev.project';

let cluster: TestCluster;
let a: ClusterNode, b: ClusterNode, c: ClusterNode;
let pkgs: Record<string, string>;
const entry = (node: ClusterNode, plugin = HELLO_ID, path = '') =>
  probe(`${node.url}/_p/sandbox-dev/${plugin}/${path}`);
const clis: ChildProcess[] = [];
const sockets: WsClient[] = [];

/** Which node holds the plugin's lease, from the nodes' own metrics. */
async function leasesHeld(node: ClusterNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^px_cluster_leases_held\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

beforeAll(async () => {
  cluster = await TestCluster.create({ leaseTtlMs: LEASE_TTL_MS });
  pkgs = await packFixtures(join(cluster.tmp, 'pkgs'));
  a = await cluster.start('node-a');
  [b, c] = await Promise.all([cluster.start('node-b'), cluster.start('node-c')]);
}, 180_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const cli of clis) if (cli.exitCode === null) cli.kill('SIGKILL');
  await cluster?.close();
}, 120_000);

// Real processes on a machine shared with parallel test runs: reloads and failover get room.
describe('three core nodes on PostgreSQL and NATS', { timeout: 240_000 }, () => {
  it('installs through A; the entry point answers the same through B and C', async () => {
    const r = await a.api.install(pkgs.hello, {
      config: { env: { TIMES: '2' }, secrets: { API_KEY: 'cluster-secret' } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.state).toBe('running');
    const answers = await Promise.all([a, b, c].map((n) => entry(n)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({
        plugin: HELLO_ID,
        version: '1.0.0',
        times: 2,
        hasApiKey: true,
        customers: 5,
      });
    }
    expect(await leasesHeld(a)).toBe(1);
    expect((await leasesHeld(b)) + (await leasesHeld(c))).toBe(0);
    // Installs, plugins and tokens are one state: B and C see the install A made.
    expect((await c.api.get(`/api/installs/${r.body.id}`)).body.state).toBe('running');
  });

  it('streams the plugin logs live to a WebSocket on C, after a backfill', async () => {
    const ws = new WsClient({ url: c.url } as TestCore, { authorization: `Bearer ${c.token}` });
    sockets.push(ws);
    await ws.opened;
    ws.send({
      type: 'subscribe',
      channel: 'plugin.dev.logs',
      tenant: 'sandbox-dev',
      plugin: HELLO_ID,
      backfill: 50,
    });
    await ws.waitFor((f) => f.type === 'subscribed', 'subscribed');
    await ws.waitFor((f) => f.type === 'log' && f.backfill, 'backfill');
    const before = ws.lines().length;
    expect((await entry(b)).status).toBe(200); // served by A's instance: it logs "greeted"
    const greeted = await until(
      () => ws.lines().slice(before),
      (lines) => lines.some((l: any) => l.msg === 'greeted'),
      'the greeted line on C',
    );
    expect(greeted.find((l: any) => l.msg === 'greeted')).toMatchObject({
      tenant: 'sandbox-dev',
      plugin: HELLO_ID,
    });
    // The same lines, with the same ids, through the REST logs of any node.
    const viaB = (await b.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs?limit=5`)).body;
    const viaA = (await a.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs?limit=5`)).body;
    expect(viaB.lines.map((l: any) => l.id)).toEqual(viaA.lines.map((l: any) => l.id));
  });

  it('px-plugin dev --watch against B hot-reloads a plugin owned by A with zero failed requests on C', async () => {
    const dir = join(cluster.tmp, 'dev-project');
    await cp(join(FIXTURES, 'hello-project'), dir, { recursive: true });
    // Three cores and their plugins share a machine with parallel test runs: a start may take longer
    // than the fixture's 3 s health timeout there, which would fail the reload for the wrong reason.
    const manifest = join(dir, 'plugin.yaml');
    await writeFile(
      manifest,
      (await readFile(manifest, 'utf8')).replace('timeoutMs: 3000', 'timeoutMs: 20000'),
    );
    // A first version served by A: a dev install from the same project through A.
    const first = spawn(process.execPath, [LAUNCHER, 'dev', '--keep'], {
      cwd: dir,
      env: { ...shellEnv(join(cluster.tmp, 'home-a')), PX_API_URL: a.url, PX_TOKEN: a.token },
    });
    clis.push(first);
    expect(await new Promise((resolve) => first.once('exit', resolve))).toBe(0);
    expect(JSON.parse((await entry(c, DEV_PLUGIN, 'hello')).text).message).toBe('first');
    expect(await leasesHeld(a)).toBe(2);

    // Load on C for the whole reload.
    const statuses: number[] = [];
    const messages = new Set<string>();
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await entry(c, DEV_PLUGIN, 'hello');
        statuses.push(r.status);
        if (r.status === 200) messages.add(JSON.parse(r.text).message);
      }
    })();

    const dev = spawn(process.execPath, [LAUNCHER, 'dev', '--watch', '--keep'], {
      cwd: dir,
      env: { ...shellEnv(join(cluster.tmp, 'home-b')), PX_API_URL: b.url, PX_TOKEN: b.token },
    });
    clis.push(dev);
    let out = '';
    dev.stdout!.on('data', (d) => (out += d));
    dev.stderr!.on('data', (d) => (out += d));
    await until(
      () => out,
      (t) => /reload #1 ✓/.test(t),
      'the first reload through B',
      60_000,
    );
    const server = join(dir, 'src/server.ts');
    await writeFile(server, (await readFile(server, 'utf8')).replace("'first'", "'second'"));
    await until(
      () => out,
      (t) => /reload #2 ✓/.test(t),
      'the hot reload through B',
      60_000,
    );
    await until(
      () => messages,
      (m) => m.has('second'),
      'C answering the new version',
    );
    loading = false;
    await load;
    dev.kill('SIGINT');
    await new Promise((resolve) => dev.once('exit', resolve));

    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // B switched it in, so B serves it now and A let its copy go.
    await until(
      () => leasesHeld(b),
      (n) => n === 1,
      'B holding the dev plugin',
    );
    await until(
      () => leasesHeld(a),
      (n) => n === 1,
      'A keeping only hello',
    );
  });

  it('kill -9 of the owner: another node serves within the bound, no install stuck, no audit entry lost', async () => {
    const slow = await a.api.install(pkgs['hello-slow-seed'], { wait: false });
    expect(slow.status).toBe(202);
    await a.api.waitInstall(slow.body.id, (s) => s === 'seeding');
    const auditBefore = (await b.api.get('/api/audit?limit=1000')).body.entries.length;

    const killedAt = Date.now();
    await cluster.kill(a.id);
    const served = await until(
      () => entry(c),
      (r) => r.status === 200,
      'a new owner of hello',
      FAILOVER_BOUND_MS,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\nB: ${b.output()}\nC: ${c.output()}`);
    });
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
    expect(JSON.parse(served.text)).toMatchObject({ version: '1.0.0', hasApiKey: true, customers: 5 });
    // Every survivor answers within the bound (B's view of the new lease may trail C's by a moment).
    const viaB = await until(
      () => entry(b),
      (r) => r.status === 200,
      'B answering through the new owner',
      Math.max(1000, FAILOVER_BOUND_MS - (Date.now() - killedAt)),
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}\nB: ${b.output().slice(-3000)}\nC: ${c.output().slice(-3000)}`,
      );
    });
    expect(viaB.status).toBe(200);

    const install = await until(
      async () => (await c.api.get(`/api/installs/${slow.body.id}`)).body,
      (i) => i.state === 'failed',
      'the interrupted install rolled back by a survivor',
      FAILOVER_BOUND_MS,
    );
    expect(install.error).toMatchObject({ code: 'INSTALL_INTERRUPTED', stage: 'seeding' });

    // The rollback's audit entry is committed with the failed state: there as soon as that is, once.
    const after = (await c.api.get('/api/audit?limit=1000')).body.entries;
    expect(
      after.filter(
        (e: any) => e.action === 'plugin.install.rolled_back' && e.details?.installId === slow.body.id,
      ),
    ).toHaveLength(1);
    expect(after.length).toBeGreaterThan(auditBefore);
    expect((await c.api.get('/api/audit/verify')).body).toMatchObject({ ok: true });
    expect(a.output()).not.toContain('cluster-secret');
  });

  it('uninstall through C removes the plugin everywhere', async () => {
    // B holds the dev plugin; hello went to B or C. A takeover outside a reconcile counts its
    // lease at that node's next reconcile: wait until both are counted.
    const [onB] = await until(
      async () => [await leasesHeld(b), await leasesHeld(c)],
      ([x, y]) => x + y === 2,
      'the leases of the dev plugin and hello counted on B and C',
      10_000,
    );
    const owner = onB === 2 ? b : c;
    expect((await c.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(204);
    for (const node of [b, c])
      await until(
        () => entry(node),
        (r) => r.status !== 200,
        `hello gone on ${node.id}`,
        10_000,
      );
    await until(
      () =>
        stat(join(owner.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID)).then(
          () => true,
          () => false,
        ),
      (exists) => !exists,
      `the plugin folder gone on ${owner.id}`,
      10_000,
    ).catch(async (e) => {
      // Seen once under load, not reproduced: say what stayed and what the owner said.
      const left = await readdir(join(owner.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID), {
        recursive: true,
      }).catch((error: Error) => [error.message]);
      throw new Error(
        `${(e as Error).message}\nleft: ${left.join(' ')}\n${owner.id} (exit ${owner.proc.exitCode ?? owner.proc.signalCode ?? 'none'}): ${owner.output().slice(-3000)}`,
      );
    });
    expect((await b.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(404);
  });
});
