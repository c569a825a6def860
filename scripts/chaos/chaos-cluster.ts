/**
 * The cluster mode of the chaos harness (`npm run chaos -- --cluster`): three real core nodes on
 * loopback sharing a fresh PostgreSQL schema and a fresh NATS prefix (the cluster test kit), the
 * base fixture installed once as a bystander, and N trials of "start an install, upgrade, dev
 * reload, rollback or uninstall of the hello fixture through a random node, kill -9 a random node
 * at a random moment — the one running the operation, the plugin's lease holder or a bystander —,
 * start it again (same node id, or a new one on the same data folder), and check the cluster once
 * it settles" (chaos-cluster-checks.ts), within SETTLE_BOUND_MS. Seeded: --seed repeats a run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KV } from '@nats-io/kv';
import { openTestNats } from '@powerx/core';
import { LEASE_TTL_MS, TestCluster, type ClusterNode } from '../../tests/integration/cluster/cluster-kit.ts';
import { leaseKey, type LeaseValue } from '../../packages/core/src/cluster/leases.ts';
import { complaintsIn, pluginProcesses } from './chaos-core.ts';
import { checkCluster } from './chaos-cluster-checks.ts';
import {
  ALL_OPERATIONS,
  BASE,
  HELLO,
  TENANT,
  begin,
  deletePlugin,
  installed,
  packChaosFixtures,
  pick,
  random,
  until,
  upload,
  type Operation,
} from './chaos-operations.ts';
import type { ChaosOptions } from './chaos-run.ts';

/**
 * How long the cluster may take to settle after the killed node is back: one lease TTL (2 s here)
 * for a dead holder's leases and heartbeat to expire, a reconcile, a plugin start and the rollback
 * of an interrupted install — with room for a machine shared with parallel runs.
 */
export const SETTLE_BOUND_MS = 60_000;
/** How long the checks must keep passing for the cluster to count as settled. */
const STABLE_MS = LEASE_TTL_MS + 1000;
const ROLES = ['operator', 'owner', 'bystander'] as const;
type Role = (typeof ROLES)[number];

export interface ClusterTrialResult {
  trial: number;
  operation: Operation;
  via: string;
  killed: string;
  role: Role;
  killAfterMs: number;
  restartedAs: string;
  restartAfterMs: number;
  /** From the restart until every check passed (or the bound, with problems). */
  settledMs: number;
  problems: string[];
  notes: string[];
}

export interface ClusterChaosResult {
  seed: number;
  trials: ClusterTrialResult[];
  inconsistencies: number;
  durationMs: number;
  summary: string;
}

interface Slot {
  name: string;
  dataDir: string;
  node: ClusterNode;
}

export async function runClusterChaos(opts: ChaosOptions): Promise<ClusterChaosResult> {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rnd = random(seed);
  const log = opts.log ?? (() => {});
  const maxDelay = opts.maxDelayMs ?? 3000;
  const started = performance.now();
  const cluster = await TestCluster.create();
  log(
    `chaos --cluster: seed ${seed}, folder ${cluster.tmp}, schema ${cluster.schema.schema}, NATS prefix ${cluster.prefix}`,
  );
  const nats = (await openTestNats(1, { prefix: cluster.prefix, leaseTtlMs: LEASE_TTL_MS })).nodes[0];
  const trials: ClusterTrialResult[] = [];
  const slots: Slot[] = [];
  try {
    const pkgs = await packChaosFixtures(cluster.tmp);
    slots.push({ name: 'a', dataDir: join(cluster.tmp, 'node-a'), node: await cluster.start('node-a') });
    for (const node of await Promise.all([cluster.start('node-b'), cluster.start('node-c')]))
      slots.push({ name: node.id.slice(-1), dataDir: node.dataDir, node });
    await installBystander(slots[0].node, pkgs.base);
    const checked = (s: Slot) => ({ ...s.node, dataDir: s.dataDir });
    let audit = (await checkCluster(slots.map(checked), nats.leases, 0)).auditEntries;

    for (let trial = 1; trial <= opts.trials; trial++) {
      // A fixed number of draws per trial, so a seed repeats the same plan.
      const operation = pick(rnd, ALL_OPERATIONS);
      const via = pick(rnd, slots);
      const role = pick(rnd, ROLES);
      const killAfterMs = Math.round(rnd() ** 1.5 * maxDelay);
      const sameId = rnd() < 0.6;
      const restartAfterMs = Math.round(rnd() * 2 * LEASE_TTL_MS);
      const spare = rnd();

      const viaId = via.node.id;
      // A bystander recorded failed (a takeover missed its health deadline on a loaded machine)
      // is installed again, so every trial has one that must keep serving.
      if ((await installed(via.node, BASE))?.status === 'failed') await installBystander(via.node, pkgs.base);
      const pending = await begin(via.node, operation, pkgs);
      pending.done.then(
        (r) => void r.body?.cancel().catch(() => {}),
        () => {},
      );
      await new Promise((r) => setTimeout(r, killAfterMs));
      const victim = await victimOf(role, via, slots, nats.leases, spare);
      const killed = victim.node.id;
      await cluster.kill(killed);
      const problems: string[] = [];
      // Its plugin processes and brokers notice their supervisor is gone and exit by themselves.
      if (!(await until(async () => (await pluginProcesses(victim.dataDir, true)).length === 0, 15_000)))
        problems.push(
          `plugin processes of killed ${killed} still alive 15 s later: ${await pluginProcesses(victim.dataDir, true)}`,
        );
      await new Promise((r) => setTimeout(r, restartAfterMs));
      const restartedAs = sameId ? killed : `node-${victim.name}${trial}`;
      try {
        victim.node = await cluster.start(restartedAs, {}, victim.dataDir);
      } catch (error) {
        problems.push(`${restartedAs} did not start again: ${(error as Error).message.slice(0, 2000)}`);
        trials.push({ ...plan(), restartedAs, settledMs: 0, problems, notes: [] });
        break;
      }
      const restarted = Date.now();
      const check = () => checkCluster(slots.map(checked), nats.leases, audit);
      // Settled: every check passes, and still passes one lease TTL and a reconcile later (a
      // restarted node taking back a lease, or a late rollback, would show by then).
      let result = await check();
      let settledMs = Date.now() - restarted;
      while (Date.now() - restarted < SETTLE_BOUND_MS) {
        if (!result.problems.length) {
          settledMs = Date.now() - restarted;
          await new Promise((r) => setTimeout(r, STABLE_MS));
          result = await check();
          if (!result.problems.length) break;
        } else {
          await new Promise((r) => setTimeout(r, 500));
          result = await check();
        }
      }
      if (result.problems.length) settledMs = Date.now() - restarted;
      audit = Math.max(audit, result.auditEntries);
      problems.push(...result.problems);
      trials.push({ ...plan(), restartedAs, settledMs, problems, notes: result.notes });
      if (problems.length || result.notes.length) {
        for (const s of slots)
          for (const c of complaintsIn(s.node.output()).slice(-5)) log(`    ${s.node.id}: ${c}`);
        log(`    full node logs: ${await saveLogs(seed, trial, cluster)}`);
      }
      log(
        `trial ${String(trial).padStart(3)}: ${operation.padEnd(10)} via ${viaId}, killed ${killed} (${role}) after ${String(killAfterMs).padStart(4)} ms, back as ${restartedAs} after ${restartAfterMs} ms: ${problems.length ? `${problems.length} problem(s) after ${(settledMs / 1000).toFixed(1)} s\n    ${problems.join('\n    ')}` : `consistent after ${(settledMs / 1000).toFixed(1)} s`}${result.notes.length ? ` (${result.notes.join('; ')})` : ''}`,
      );

      function plan() {
        return { trial, operation, via: viaId, killed, role, killAfterMs, restartAfterMs };
      }
    }
  } finally {
    for (const s of slots) await cluster.kill(s.node.id).catch(() => {});
    await until(async () => (await pluginProcesses(cluster.tmp, true)).length === 0, 15_000);
    await nats.close().catch(() => {});
    await cluster.close();
  }
  return summarize(seed, trials, started);
}

/** The base fixture, installed afresh; a health timeout on a loaded machine is retried, it is not what is tested. */
async function installBystander(node: ClusterNode, pxp: string): Promise<void> {
  await (await deletePlugin(node, BASE)).text();
  for (let attempt = 1; ; attempt++) {
    const base = await upload(node, '/api/plugins/install/local', pxp, true);
    if (base.status === 200) return;
    if (attempt === 3) throw new Error(`installing the bystander failed: ${await base.text()}`);
  }
}

/** Every node's output so far (the killed ones' too), kept after the run for a failed trial. */
async function saveLogs(seed: number, trial: number, cluster: TestCluster): Promise<string> {
  const dir = join(tmpdir(), `px-chaos-cluster-${seed}`, `trial-${trial}`);
  await mkdir(dir, { recursive: true });
  for (const node of cluster.nodes.values()) await writeFile(join(dir, `${node.id}.log`), node.output());
  return dir;
}

/** The node to kill for the drawn role, as the cluster is at the moment of the kill. */
async function victimOf(role: Role, via: Slot, slots: Slot[], leases: KV, spare: number) {
  const holderOf = async (pluginId: string) => {
    const e = await leases.get(leaseKey('serve', TENANT, pluginId)).catch(() => null);
    return e?.operation === 'PUT' ? e.json<LeaseValue>().node : undefined;
  };
  const owner = (await holderOf(HELLO)) ?? (await holderOf(BASE));
  if (role === 'operator') return via;
  if (role === 'owner') return slots.find((s) => s.node.id === owner) ?? via;
  const others = slots.filter((s) => s !== via && s.node.id !== owner);
  const pool = others.length ? others : slots.filter((s) => s !== via);
  return pool[Math.floor(spare * pool.length)];
}

function summarize(seed: number, trials: ClusterTrialResult[], started: number): ClusterChaosResult {
  const inconsistencies = trials.filter((t) => t.problems.length).length;
  const durationMs = Math.round(performance.now() - started);
  const count = <T>(key: (t: ClusterTrialResult) => T, values: readonly T[]) =>
    values.map((v) => `${String(v)} ${trials.filter((t) => key(t) === v).length}`).join(', ');
  const newIds = trials.filter((t) => t.restartedAs !== t.killed).length;
  const slowest = Math.max(0, ...trials.filter((t) => !t.problems.length).map((t) => t.settledMs));
  const notes = trials.filter((t) => t.notes.length).length;
  const summary =
    `chaos --cluster: ${trials.length} trials (${count((t) => t.operation, ALL_OPERATIONS)}; killed ${count((t) => t.role, ROLES)}; ` +
    `${newIds} restart(s) under a new node id), ${inconsistencies} inconsistencies` +
    `${notes ? ` (${notes} with a plugin recorded failed, nothing of it running)` : ''}, ` +
    `slowest settle ${(slowest / 1000).toFixed(1)} s (bound ${SETTLE_BOUND_MS / 1000} s), seed ${seed}, ${(durationMs / 1000).toFixed(0)} s`;
  return { seed, trials, inconsistencies, durationMs, summary };
}
