/**
 * SIGTERM of the node serving a plugin: it offers its leases, another node starts the plugin,
 * and only then does the stopping node let go — the entry point answers through the whole
 * handover with zero failed requests, and the stopped node exits cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// Every wait below has its own deadline (probes 5 s, the handover 40 s), so a handover that never
// completes fails the test with what was seen instead of hanging it.
describe('draining a node', { timeout: 60_000 }, () => {
  it('hands its plugins over on SIGTERM with zero failed requests', async () => {
    const pkgs = await packFixtures(join(cluster.tmp, 'pkgs'));
    const r = await a.api.install(pkgs.hello, { config: { secrets: { API_KEY: 'k' } } });
    expect(r.body.state, JSON.stringify(r.body)).toBe('running');
    const url = `${b.url}/_p/sandbox-dev/${HELLO_ID}/`;
    expect((await probe(url)).status).toBe(200);

    const statuses: number[] = [];
    const bad: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await probe(url);
        statuses.push(r.status);
        if (r.status !== 200) bad.push(`${Date.now()} ${r.status} ${r.text.slice(0, 200)}`);
      }
    })();
    try {
      await until(
        () => statuses.length,
        (n) => n >= 10,
        'load running',
      );

      const exited = exitOf(a, 40_000);
      a.proc.kill('SIGTERM');
      expect(
        await exited.catch((e: Error) => {
          throw new Error(`${e.message}\nB: ${b.output().slice(-4000)}`);
        }),
      ).toBe(0);
      const afterExit = statuses.length;
      await until(
        () => statuses.length,
        (n) => n >= afterExit + 20,
        'requests after node A is gone',
        10_000,
      );
    } finally {
      // Also when a wait above failed: the load loop must not outlive the test.
      loading = false;
      await load;
    }

    expect(bad).toEqual([]);
    expect(a.output()).toMatch(/SIGTERM: stopping core/);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/px_cluster_takeovers_total\{reason="handover",node="node-b"\} 1/);
  });
});
