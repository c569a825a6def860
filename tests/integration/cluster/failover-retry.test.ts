/**
 * kill -9 of the node serving a plugin, and the survivor's start of it fails (as a loaded machine
 * missing the health deadline does; here a file stands where the version folder goes). The plugin
 * is not failed for the whole cluster at once: another attempt serves it. A plugin that can never
 * start on the survivors ends failed after its bounded attempts, with FAILOVER_EXHAUSTED naming
 * them (cluster/failover-attempts.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELLO_ID, packFixtures } from '../../support/core-kit.ts';
import { TestCluster, probe, until, type ClusterNode } from './cluster-kit.ts';

const BASE_ID = 'com.fixture.core.base';

let cluster: TestCluster;
let a: ClusterNode, b: ClusterNode;
let pkgs: Record<string, string>;

beforeAll(async () => {
  cluster = await TestCluster.create();
  pkgs = await packFixtures(join(cluster.tmp, 'pkgs'));
  [a, b] = await Promise.all([cluster.start('node-a'), cluster.start('node-b')]);
}, 180_000);

afterAll(async () => {
  await cluster?.close();
}, 120_000);

/** Where B unpacks the plugin's version folders: a file there makes B's start of it fail. */
async function blockStartOnB(pluginId: string): Promise<string> {
  const versions = join(b.dataDir, 'tenants/sandbox-dev/plugins', pluginId, 'versions');
  await mkdir(join(versions, '..'), { recursive: true });
  await writeFile(versions, 'not a folder');
  return versions;
}

describe('a failover start that fails', { timeout: 180_000 }, () => {
  it('is tried again, and a later attempt serves the plugin', async () => {
    const r = await a.api.install(pkgs.hello);
    expect(r.body.state, JSON.stringify(r.body)).toBe('running');
    const blocked = await blockStartOnB(HELLO_ID);

    await cluster.kill(a.id);
    await until(
      () => b.output(),
      (text) => /failover start failed: left to another attempt/.test(text),
      'the failed first failover start on B',
      30_000,
    );
    expect((await b.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body.status).not.toBe('failed');
    await rm(blocked);
    await until(
      () => probe(`${b.url}/_p/sandbox-dev/${HELLO_ID}/`),
      (answer) => answer.status === 200,
      'hello served by B after a later attempt',
      30_000,
    );
    const plugin = await b.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
    expect(plugin.body.status).toBe('running');
  });

  it('ends failed with FAILOVER_EXHAUSTED when no attempt can start the plugin', async () => {
    a = await cluster.start(a.id, {}, a.dataDir);
    const r = await a.api.install(pkgs.base);
    expect(r.body.state, JSON.stringify(r.body)).toBe('running');
    await blockStartOnB(BASE_ID);

    await cluster.kill(a.id);
    const plugin = await until(
      async () => (await b.api.get(`/api/tenants/sandbox-dev/plugins/${BASE_ID}`)).body,
      (p) => p.status === 'failed',
      'base marked failed after its failover attempts',
      60_000,
    );
    expect(plugin.failure).toMatchObject({ code: 'FAILOVER_EXHAUSTED', stage: 'failover' });
    expect(plugin.failure.message).toMatch(/3 failover attempts failed \(on node-b\)/);
    // Audited with the failed state, in its transaction: the entry is there as soon as the state is.
    const entries = (await b.api.get('/api/audit?action=plugin.failed&limit=10')).body.entries;
    expect(entries).toEqual([
      expect.objectContaining({
        actor: 'system',
        target: BASE_ID,
        details: expect.objectContaining({ code: 'FAILOVER_EXHAUSTED', stage: 'failover' }),
      }),
    ]);
    expect(entries[0].details.attempts.map((a: { node: string }) => a.node)).toEqual([
      'node-b',
      'node-b',
      'node-b',
    ]);
    // Failed is final: no node keeps trying.
    const starts = b.output().match(/taking a plugin over/g)?.length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(b.output().match(/taking a plugin over/g)?.length).toBe(starts);
  });
});
