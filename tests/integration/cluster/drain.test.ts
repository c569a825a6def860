/**
 * SIGTERM of the node serving a plugin: it offers its leases, another node starts the plugin,
 * and only then does the stopping node let go — the entry point answers through the whole
 * handover with zero failed requests, and the stopped node exits cleanly. Also when the taker's
 * first start fails (as a loaded machine missing a health deadline does): the lease goes back,
 * the draining node serves on, a later attempt takes over, and the plugin is never marked failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELLO_ID, packFixtures } from '../../support/core-kit.ts';
import { TestCluster, exitOf, probe, until, type ClusterNode } from './cluster-kit.ts';

let cluster: TestCluster;
let a: ClusterNode, b: ClusterNode;

beforeAll(async () => {
  cluster = await TestCluster.create();
  a = await cluster.start('node-a');
  b = await cluster.start('node-b');
}, 60_000);
afterAll(async () => {
  await cluster?.close();
}, 60_000);

/** Requests through `url` one after another until `stop` is called; what did not answer 200. */
function loadOn(url: string) {
  const statuses: number[] = [];
  const bad: string[] = [];
  let loading = true;
  const done = (async () => {
    while (loading) {
      const r = await probe(url);
      statuses.push(r.status);
      if (r.status !== 200) bad.push(`${Date.now()} ${r.status} ${r.text.slice(0, 200)}`);
    }
  })();
  return {
    statuses,
    bad,
    async stop() {
      loading = false;
      await done;
    },
  };
}

/** SIGTERM, and the node's exit code (with the taker's output when it does not exit). */
async function sigterm(node: ClusterNode, taker: ClusterNode): Promise<number | null> {
  const exited = exitOf(node, 40_000);
  node.proc.kill('SIGTERM');
  return exited.catch((e: Error) => {
    throw new Error(`${e.message}\n${taker.id}: ${taker.output().slice(-4000)}`);
  });
}

/**
 * The taker counts its handover once its lease write went through, and the draining node may see
 * that write, finish and exit first: wait (bounded) for the count, then check it is exactly one.
 */
async function takeoverCounted(taker: ClusterNode): Promise<void> {
  const counted = new RegExp(`px_cluster_takeovers_total\\{reason="handover",node="${taker.id}"\\} (\\d+)`);
  const metrics = await until(
    async () => (await fetch(`${taker.url}/metrics`)).text(),
    (text) => counted.test(text),
    `the handover counted on ${taker.id}`,
    10_000,
  );
  expect(counted.exec(metrics)?.[1]).toBe('1');
}

// Every wait below has its own deadline (probes 5 s, the handover 40 s), so a handover that never
// completes fails the test with what was seen instead of hanging it.
describe('draining a node', { timeout: 60_000 }, () => {
  it('hands its plugins over on SIGTERM with zero failed requests', async () => {
    const pkgs = await packFixtures(join(cluster.tmp, 'pkgs'));
    const r = await a.api.install(pkgs.hello, { config: { secrets: { API_KEY: 'k' } } });
    expect(r.body.state, JSON.stringify(r.body)).toBe('running');
    const url = `${b.url}/_p/sandbox-dev/${HELLO_ID}/`;
    expect((await probe(url)).status).toBe(200);

    const load = loadOn(url);
    try {
      await until(
        () => load.statuses.length,
        (n) => n >= 10,
        'load running',
      );
      expect(await sigterm(a, b)).toBe(0);
      const afterExit = load.statuses.length;
      await until(
        () => load.statuses.length,
        (n) => n >= afterExit + 20,
        'requests after node A is gone',
        10_000,
      );
    } finally {
      // Also when a wait above failed: the load loop must not outlive the test.
      await load.stop();
    }

    expect(load.bad).toEqual([]);
    expect(a.output()).toMatch(/SIGTERM: stopping core/);
    await takeoverCounted(b);
  });

  it('serves on when the taker fails to start the plugin, until a later attempt takes it over', async () => {
    // B serves hello now; C joins, and its first start of hello will fail: where C unpacks the
    // version folder, a file stands in the way.
    const c = await cluster.start('node-c');
    const versions = join(c.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID, 'versions');
    await mkdir(join(versions, '..'), { recursive: true });
    await writeFile(versions, 'not a folder');
    const url = `${c.url}/_p/sandbox-dev/${HELLO_ID}/`;
    expect((await probe(url)).status).toBe(200);

    const load = loadOn(url);
    try {
      await until(
        () => load.statuses.length,
        (n) => n >= 10,
        'load running',
      );
      const exited = sigterm(b, c);
      await until(
        () => c.output(),
        (text) => /handover start failed: lease given back/.test(text),
        'the failed first start on C',
        20_000,
      );
      await rm(versions); // the next attempt can start it
      expect(await exited).toBe(0);
      const afterExit = load.statuses.length;
      await until(
        () => load.statuses.length,
        (n) => n >= afterExit + 20,
        'requests after node B is gone',
        10_000,
      );
    } finally {
      await load.stop();
    }

    expect(load.bad).toEqual([]);
    const plugin = await c.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
    expect(plugin.body.status).toBe('running');
    await takeoverCounted(c);
  });
});
