/**
 * A node that is down while another node uninstalls a plugin misses the uninstall event; when it
 * starts again it removes its copy of the plugin's data folder unless that uninstall kept the
 * data (a dev uninstall without removeData). The chaos harness found the folder left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELLO_ID } from '../../support/core-kit.ts';
import { TestCluster, until, type ClusterNode, exists, startTwoNodes } from './cluster-kit.ts';

let cluster: TestCluster;
let a: ClusterNode, b: ClusterNode;
let pkgs: Record<string, string>;

beforeAll(async () => {
  ({ cluster, pkgs, a, b } = await startTwoNodes());
}, 180_000);

afterAll(async () => {
  await cluster?.close();
}, 120_000);

/** The data volume's image (runtime sandbox/data-volume.ts), when the host loop-mounts one. */
const IMAGE_NAME = '.px-disk.ext4';

/** Installs hello through B (B serves it) and writes a file into B's data folder of it. */
async function servedByBWithData(): Promise<string> {
  const r = await b.api.install(pkgs.hello);
  expect(r.body.state, JSON.stringify(r.body)).toBe('running');
  const data = join(b.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID, 'data');
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 'notes.json'), '{"kept":"maybe"}');
  return data;
}

describe('a node down while the plugin is uninstalled elsewhere', { timeout: 180_000 }, () => {
  it('removes its data folder of the plugin when it starts again', async () => {
    const data = await servedByBWithData();
    await cluster.kill(b.id);
    expect((await a.api.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(204);

    b = await cluster.start(b.id, {}, b.dataDir);
    await until(
      () => exists(join(b.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID)),
      (left) => !left,
      'the plugin folder gone on node-b',
      10_000,
    );
    expect(await exists(data)).toBe(false);
  });

  it('keeps the data folder when the uninstall kept the data', async () => {
    const data = await servedByBWithData();
    await cluster.kill(b.id);
    const r = await fetch(`${a.url}/api/plugins/dev/install`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'sandbox-dev', pluginId: HELLO_ID }),
    });
    expect(r.status, await r.text()).toBe(204);

    // The start-up sweep runs before the node listens: what it removes is gone by now. (The file
    // may sit inside the data volume's image, unmounted since: the folder holds one or the other.)
    b = await cluster.start(b.id, {}, b.dataDir);
    const left = await readdir(data);
    expect(
      left.some((f) => f === 'notes.json' || f === IMAGE_NAME),
      left.join(),
    ).toBe(true);
  });
});
