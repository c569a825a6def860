/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * The dev reload history is cluster-wide: two real core nodes (A and B) on one PostgreSQL and
 * NATS. Reloads done through A — one serving, one failed at its health check, one that crashed in
 * its grace window on a request that came in through B — are listed through B with their details
 * (result, duration, rollback code, stage, message and hint), the crash as the same entry updated
 * to rolled_back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEV_ID, FIXTURES, GATE_TIMEOUT_MS, newSandbox } from '../dev/dev-kit.ts';
import { TestCluster, probe, until, type ClusterNode } from './cluster-kit.ts';

const TENANT = 'cluster-dev-reloads';

let cluster: TestCluster;
let a: ClusterNode, b: ClusterNode;

beforeAll(async () => {
  cluster = await TestCluster.create();
  // A grace window long enough to send the crashing request in it on a loaded machine; a newer
  // reload cuts the previous one's window short, so the test does not wait for it.
  const env = { PX_DEV_GRACE_MS: '30000' };
  [a, b] = await Promise.all([cluster.start('node-a', env), cluster.start('node-b', env)]);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
}, 120_000);

/** A copy of the fixture; `healthTimeoutMs` for plugin starts on a loaded machine. */
async function project(fixture: string, healthTimeoutMs?: number): Promise<string> {
  const dir = join(cluster.tmp, 'projects', fixture);
  await cp(join(FIXTURES, fixture), dir, { recursive: true });
  if (healthTimeoutMs) {
    const manifest = join(dir, 'manifest.json');
    await writeFile(
      manifest,
      (await readFile(manifest, 'utf8')).replace(/"timeoutMs": \d+/, `"timeoutMs": ${healthTimeoutMs}`),
    );
  }
  return dir;
}

/** The plugin's reload history as the node lists it (under its session, or under recent). */
async function reloadsVia(node: ClusterNode): Promise<any[]> {
  const body = (await node.api.get(`/api/plugins/dev/sessions?tenant=${TENANT}`)).body;
  const all = [...(body.sessions ?? []), ...(body.recent ?? [])];
  return all.find((x: any) => x.pluginId === DEV_ID)?.reloads ?? [];
}

describe('dev reload history across cluster nodes', { timeout: 240_000 }, () => {
  it('lists the reloads done through A, with the rollback reason of the failed and the crashed one, through B', async () => {
    await newSandbox(a.api, TENANT);
    const install = (dir: string) => a.api.post('/api/plugins/dev/install', { tenant: TENANT, path: dir });

    const first = await install(await project('dev-hello', 20_000));
    expect(first.body.result, JSON.stringify(first.body)).toBe('running');
    // Its gate must time out, not its start: a bound a loaded machine's start stays within.
    const bad = await install(await project('dev-never-healthy', GATE_TIMEOUT_MS));
    expect(bad.body.result, JSON.stringify(bad.body)).toBe('failed');

    const listed = await reloadsVia(b);
    expect(listed.map((r) => [r.id, r.result])).toEqual([
      [bad.body.id, 'failed'],
      [first.body.id, 'running'],
    ]);
    const [failed, served] = listed;
    expect(served).toMatchObject({
      version: first.body.version,
      installId: first.body.installId,
      durationMs: expect.any(Number),
    });
    expect(served.rollback).toBeUndefined();
    expect(failed).toMatchObject({ installId: bad.body.installId, version: '0.3.0' });
    expect(failed.rollback).toMatchObject({
      code: bad.body.error.code,
      stage: 'health_check',
      message: bad.body.error.message,
      hint: bad.body.error.hint,
      serving: { version: first.body.version, installId: first.body.installId },
      restored: false,
    });
    expect(failed.rollback.hint).toBeTruthy();

    // A version that crashes on its first request, sent through B while A watches its grace window.
    const crashing = await install(await project('dev-crash-on-request', 20_000));
    expect(crashing.body.result, JSON.stringify(crashing.body)).toBe('running');
    await probe(`${b.url}/_p/${TENANT}/${DEV_ID}/hello`);
    const after = await until(
      () => reloadsVia(b),
      (r) => r[0]?.result === 'rolled_back',
      'the crash listed through B',
      60_000,
    );
    expect(after.map((r) => [r.id, r.result])).toEqual([
      [crashing.body.id, 'rolled_back'],
      [bad.body.id, 'failed'],
      [first.body.id, 'running'],
    ]);
    expect(after[0]).toMatchObject({ version: '0.4.0', installId: crashing.body.installId });
    expect(after[0].rollback).toMatchObject({
      code: 'DEV_CRASHED_AFTER_SWITCH',
      stage: 'after_switch',
      restored: true,
    });
    expect(after[0].rollback.hint).toBeTruthy();
    // A lists the same history.
    expect(await reloadsVia(a)).toEqual(after);
  });
});
