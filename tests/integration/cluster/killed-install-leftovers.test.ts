/**
 * A node killed in the middle of a fresh install: a survivor rolls the install back, but what the
 * install made on the killed node's disk (the plugin's data folder and its volume image) is out
 * of the survivor's reach. The killed node, started again on its data folder under a new node id
 * (the chaos harness found it), removes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

describe('a node killed during a fresh install', { timeout: 180_000 }, () => {
  it('comes back under a new id without the plugin folder the install made on its disk', async () => {
    const started = await b.api.install(pkgs['hello-slow-seed'], { wait: false });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const seeding = await until(
      async () => (await b.api.get(`/api/installs/${started.body.id}`)).body,
      (i) => ['seeding', 'failed'].includes(i.state),
      'the install seeding (its seed hook never ends)',
      60_000,
    );
    expect(seeding.state, JSON.stringify(seeding.error)).toBe('seeding');
    const folder = join(b.dataDir, 'tenants/sandbox-dev/plugins', HELLO_ID);
    expect(await exists(join(folder, 'data'))).toBe(true);

    await cluster.kill(b.id);
    const install = await until(
      async () => (await a.api.get(`/api/installs/${started.body.id}`)).body,
      (i) => i.state === 'failed',
      'the interrupted install rolled back by node-a',
    );
    expect(install.error).toMatchObject({ code: 'INSTALL_INTERRUPTED', stage: 'seeding' });
    expect(await exists(folder)).toBe(true);

    b = await cluster.start('node-b2', {}, b.dataDir);
    await until(
      () => exists(folder),
      (left) => !left,
      'the plugin folder gone on node-b2',
      10_000,
    );
    expect((await a.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).status).toBe(404);
  });
});
