/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * Live install progress across nodes: two real core processes on PostgreSQL and NATS; a
 * WebSocket on C subscribed to `plugin.install.progress` sees, live and in order, every stage of
 * an install, a failed upgrade, dev reloads (one whose start throws), an upgrade, a rollback and an
 * uninstall made through A.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { HELLO_ID, packFixtures } from '../../support/core-kit.ts';
import { DEV_ID, WsClient, project, type TestCore } from '../dev/dev-kit.ts';
import { TestCluster, type ClusterNode } from './cluster-kit.ts';
import { INSTALL_STAGES } from '@powerx/protocol';

const TENANT = 'sandbox-dev';
/** Every stage of an install that goes through, in order (protocol's list). */
const PIPELINE: readonly string[] = INSTALL_STAGES;

let cluster: TestCluster;
let a: ClusterNode, c: ClusterNode;
let pkgs: Record<string, string>;
let onC: WsClient;

/** What the socket on C received live for one install, once it reached `state`. */
async function seenOnC(installId: string, state: string): Promise<any[]> {
  await onC.waitFor(
    (f) => f.type === 'progress' && f.progress.installId === installId && f.progress.state === state,
    `${state} of ${installId} on C`,
    90_000,
  );
  return onC.frames.filter((f) => f.type === 'progress' && f.progress.installId === installId);
}

beforeAll(async () => {
  cluster = await TestCluster.create();
  pkgs = await packFixtures(join(cluster.tmp, 'pkgs'));
  a = await cluster.start('node-a'); // first alone: it migrates the fresh schema
  c = await cluster.start('node-c');
  onC = new WsClient({ url: c.url } as TestCore, { authorization: `Bearer ${c.token}` });
  await onC.opened;
  onC.send({ type: 'subscribe', channel: 'plugin.install.progress', tenant: TENANT });
  await onC.waitFor((f) => f.type === 'progress_snapshot', 'snapshot on C');
}, 180_000);

afterAll(async () => {
  onC?.close();
  await cluster?.close();
}, 120_000);

describe('install progress across core nodes', { timeout: 180_000 }, () => {
  it('shows on C every stage of an install made through A, in order, ending in running', async () => {
    const r = await a.api.install(pkgs.hello, {
      wait: false,
      config: { env: { TIMES: '2' }, secrets: { API_KEY: 'cluster-progress-secret' } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const frames = await seenOnC(r.body.id, 'running');
    expect(frames.map((f) => f.progress.stage)).toEqual(PIPELINE);
    expect(frames.map((f) => f.progress.seq)).toEqual(PIPELINE.map((_, i) => 2 * (i + 1)));
    expect(frames.at(-1).progress).toMatchObject({
      kind: 'install',
      pluginId: HELLO_ID,
      version: '1.0.0',
      state: 'running',
      node: 'node-a',
    });
    expect(JSON.stringify(onC.frames)).not.toContain('cluster-progress-secret');
  });

  it('shows on C a failed upgrade through A with its code and hint', async () => {
    const r = await a.api.install(pkgs['hello-unhealthy'], { wait: false });
    const frames = await seenOnC(r.body.id, 'failed');
    expect(frames.map((f) => f.progress.stage).slice(-2)).toEqual(['rolling_back', 'failed']);
    const failed = frames.at(-1).progress;
    expect(failed.kind).toBe('upgrade');
    expect(failed.error).toMatchObject({ stage: 'health_check' });
    expect(failed.error.code).toMatch(/^HEALTH_/);
    expect(failed.error.hint.length).toBeGreaterThan(0);
    // The same error as the install record, read through C.
    expect(failed.error).toEqual((await c.api.get(`/api/installs/${r.body.id}`)).body.error);
  });

  it('shows on C dev reloads through A: one that serves, and one whose start throws, with its code and hint', async () => {
    const served = await a.api.post('/api/plugins/dev/install', {
      tenant: TENANT,
      path: await project({ tmp: cluster.tmp }, 'dev-hello'),
    });
    expect(served.body.result, JSON.stringify(served.body)).toBe('running');
    const ok = await seenOnC(served.body.installId, 'running');
    expect(ok.map((f) => f.progress.stage)).toEqual(PIPELINE);
    expect(ok.every((f) => f.progress.kind === 'dev_reload')).toBe(true);
    expect(ok.at(-1).progress).toMatchObject({ pluginId: DEV_ID, version: '0.1.0' });

    const broken = await a.api.post('/api/plugins/dev/install', {
      tenant: TENANT,
      path: await project({ tmp: cluster.tmp }, 'dev-throws-at-start'),
    });
    expect(broken.body.result, JSON.stringify(broken.body)).toBe('failed');
    const failed = (await seenOnC(broken.body.installId, 'failed')).at(-1).progress;
    expect(failed).toMatchObject({ kind: 'dev_reload', stage: 'failed', version: '0.2.0' });
    expect(failed.error).toMatchObject({ code: broken.body.error.code, hint: broken.body.error.hint });
    expect(failed.error.hint.length).toBeGreaterThan(0);
  });

  it('shows on C an upgrade and a rollback to the last stable version made through A', async () => {
    const upgrade = await a.api.install(pkgs['hello-v2'], { wait: false });
    const up = await seenOnC(upgrade.body.id, 'running');
    expect(up.at(-1).progress).toMatchObject({ kind: 'upgrade', version: '2.0.0' });
    const rollback = await a.api.post(`/api/tenants/${TENANT}/plugins/${HELLO_ID}/rollback`);
    expect(rollback.status, JSON.stringify(rollback.body)).toBeLessThan(300);
    const back = await seenOnC(rollback.body.id, 'running');
    expect(back.map((f) => f.progress.stage)).toEqual(PIPELINE);
    expect(back.at(-1).progress).toMatchObject({ kind: 'rollback', version: '1.0.0' });
  });

  it('shows on C an uninstall made through A', async () => {
    const active = (await a.api.get(`/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).body.activeInstallId;
    expect((await a.api.delete(`/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).status).toBeLessThan(300);
    const frames = await seenOnC(active, 'uninstalled');
    expect(frames.filter((f) => f.progress.kind === 'uninstall').map((f) => f.progress.stage)).toEqual([
      'uninstalling',
      'uninstalled',
    ]);
  });
});
