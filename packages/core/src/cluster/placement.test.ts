import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { openTestDatabase, type TestDatabase } from '../storage/test-databases.ts';
import { CorePaths } from '../config/core-paths.ts';
import type { InstallPipeline } from '../install/install-pipeline.ts';
import { NatsEventBus } from '../events/nats-event-bus.ts';
import { openTestNats } from './test-nats.ts';
import { ClusterMetrics } from './cluster-metrics.ts';
import { leaseKey, type LeaseValue } from './leases.ts';
import { LEASELESS_CONFIRM_MS, Placement, UNINSTALLED_EVENT } from './placement.ts';

const TENANT = 'sandbox-dev';
const PLUGIN = 'com.x.hello';
const KEY = leaseKey('serve', TENANT, PLUGIN);

let store: TestDatabase;
let nats: Awaited<ReturnType<typeof openTestNats>>;
let bus: NatsEventBus;
let placement: Placement | undefined;

beforeEach(async () => {
  store = await openTestDatabase('sqlite');
  nats = await openTestNats(2, { leaseTtlMs: 3000 });
  bus = await NatsEventBus.start(nats.nodes[0], 'node-b', () => {});
});
afterEach(async () => {
  await placement?.stop();
  placement = undefined;
  await bus.close();
  await nats.close();
  await store.close();
});

/** The row a switch commits on the node that installed the plugin, before that node takes the lease. */
async function committedSwitch(): Promise<void> {
  const now = new Date().toISOString();
  await store.db
    .insertInto('plugins')
    .values({
      tenant_id: TENANT,
      plugin_id: PLUGIN,
      active_install_id: 'install-1',
      active_version: '1.0.0',
      last_stable_install_id: null,
      last_stable_version: null,
      status: 'running',
      memory_mb: 64,
      disk_mb: 16,
      cpu_percent: 50,
      package_bytes: 1000,
      installed_at: now,
      updated_at: now,
    })
    .execute();
}

/** The pipeline as placement sees it: what it starts here is recorded, and serves. */
function pipelineStartingOn(starts: string[]): InstallPipeline {
  return {
    rollBackAbandoned: async () => 0,
    servedPlugins: () => [],
    servingInstance: () => undefined,
    startServingPlugin: async (tenant: string, pluginId: string) => {
      starts.push(`${tenant}/${pluginId}`);
      return true;
    },
    stopServingPlugin: async () => {},
  } as unknown as InstallPipeline;
}

async function lease(): Promise<LeaseValue | undefined> {
  const entry = await nats.nodes[0].leases.get(KEY);
  return entry?.operation === 'PUT' ? entry.json<LeaseValue>() : undefined;
}

/** Node B's placement; it reconciles only when asked (and once at start). */
async function startPlacement(starts: string[], paths = new CorePaths('/nonexistent')): Promise<Placement> {
  placement = new Placement({
    nats: nats.nodes[0],
    db: store.db,
    bus,
    paths,
    log: pino({ level: 'silent' }),
    metrics: new ClusterMetrics(new Registry(), 'node-b'),
    nodeId: 'node-b',
    url: () => 'http://127.0.0.1:9002',
    reconcileMs: 3_600_000,
  });
  await placement.start(pipelineStartingOn(starts));
  return placement;
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('placement of a plugin without a lease', () => {
  it('leaves a plugin just switched in elsewhere to its node, and claims it once it stays without a lease', async () => {
    await committedSwitch();
    const starts: string[] = [];
    const placement = await startPlacement(starts); // reconciles once

    expect(await lease()).toBeUndefined();
    expect(starts).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, LEASELESS_CONFIRM_MS));
    await placement.reconcile();
    await waitFor(async () => (await lease())?.state === 'ready');
    expect(starts).toEqual([`${TENANT}/${PLUGIN}`]);
    expect(await lease()).toMatchObject({ node: 'node-b', state: 'ready' });
  });
});

describe('a plugin uninstalled through another node', () => {
  it('loses its folder here, also with a stale data volume mounted in it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'px-placement-'));
    const paths = new CorePaths(dataDir);
    const root = paths.pluginRoot(TENANT, PLUGIN);
    // A data volume nothing here holds any more (its instance's node was killed), as a tmpfs.
    await mkdir(paths.pluginDataDir(TENANT, PLUGIN), { recursive: true });
    await promisify(execFile)('mount', ['-t', 'tmpfs', 'px-test', paths.pluginDataDir(TENANT, PLUGIN)]);
    const other = await NatsEventBus.start(nats.nodes[1], 'node-c', () => {});
    try {
      await startPlacement([], paths);
      await other.publish(UNINSTALLED_EVENT, {
        tenant: TENANT,
        pluginId: PLUGIN,
        keepData: false,
        node: 'node-c',
      });
      const gone = () =>
        stat(root).then(
          () => false,
          () => true,
        );
      await waitFor(gone);
      expect(await gone()).toBe(true);
    } finally {
      await other.close();
      await promisify(execFile)('umount', ['-l', paths.pluginDataDir(TENANT, PLUGIN)]).catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
