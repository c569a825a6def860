/**
 * An uninstall commits in one transaction and then tells the other nodes (the lease goes, each
 * node drops its copy). When its node dies between the two (the chaos harness found it), the
 * node serving the plugin must still stop serving it, and the next node to start finishes the
 * uninstall everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { join } from 'node:path';
import pg from 'pg';
import { HELLO_ID } from '../../support/core-kit.ts';
import { pluginProcesses } from '../../../scripts/chaos/chaos-core.ts';
import { TestCluster, probe, until, type ClusterNode, exists, startTwoNodes } from './cluster-kit.ts';

let cluster: TestCluster;
let a: ClusterNode, b: ClusterNode;
let pkgs: Record<string, string>;

async function sql(text: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({
    connectionString: cluster.schema.url,
    options: `-c search_path=${cluster.schema.schema}`,
  });
  await client.connect();
  try {
    await client.query(text, params);
  } finally {
    await client.end();
  }
}

async function leasesHeld(node: ClusterNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^px_cluster_leases_held\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

beforeAll(async () => {
  ({ cluster, pkgs, a, b } = await startTwoNodes());
}, 180_000);

afterAll(async () => {
  await cluster?.close();
}, 120_000);

describe('an uninstall whose node died before it told the cluster', { timeout: 120_000 }, () => {
  it('is no longer served by the lease holder, and the next node to start removes it everywhere', async () => {
    const r = await a.api.install(pkgs.hello);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await leasesHeld(a)).toBe(1);
    const folder = join(a.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID);
    expect(await exists(folder)).toBe(true);

    // What B's uninstall transaction leaves when B is killed right after its commit: the row is
    // gone, a clean-up is pending, and nobody was told (A still holds the lease and serves).
    await sql('delete from plugins where tenant_id = $1 and plugin_id = $2', ['sandbox-dev', HELLO_ID]);
    await sql(
      `update installs set state = 'uninstalled', secrets_enc = null, version_dir = null
         where tenant_id = $1 and plugin_id = $2 and state = 'running'`,
      ['sandbox-dev', HELLO_ID],
    );
    await sql(
      'insert into uninstall_cleanups (tenant_id, plugin_id, keep_data, created_at) values ($1, $2, 0, $3)',
      ['sandbox-dev', HELLO_ID, new Date().toISOString()],
    );
    await cluster.kill(b.id);

    await until(
      () => probe(`${a.url}/_p/sandbox-dev/${HELLO_ID}/`),
      (answer) => answer.status !== 200,
      'hello no longer served through node-a',
    );
    await until(
      () => pluginProcesses(a.dataDir),
      (pids) => pids.length === 0,
      'no hello process left on node-a',
    );
    await until(
      () => leasesHeld(a),
      (n) => n === 0,
      'node-a holding no lease',
    );

    // B comes back: its start-up sweep finishes the uninstall and tells A, whose folder goes.
    b = await cluster.start(b.id, {}, b.dataDir);
    await until(
      () => exists(folder),
      (left) => !left,
      'the plugin folder gone on node-a',
    );
    expect((await probe(`${b.url}/_p/sandbox-dev/${HELLO_ID}/`)).status).not.toBe(200);
  });
});
