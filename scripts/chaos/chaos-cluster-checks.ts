/* eslint-disable @typescript-eslint/no-explicit-any -- API bodies are checked field by field here */
/**
 * What must be true of a cluster once it settled after a node was killed and started again (the
 * cluster mode of the chaos harness). Returns the problems found, as sentences (empty: a pass).
 *
 * - installs: none left in a non-terminal stage (waiting for configuration is a stage one may
 *   wait in); no install row of an uninstalled plugin still says `running`;
 * - placement: every installed plugin that is not recorded failed has one lease, `ready`, held by
 *   a live node, and its entry point answers 200 with the active version through every live node;
 * - no double serving: a plugin process runs only on the node holding the plugin's lease, one
 *   there; none of a plugin recorded failed or uninstalled; plugin data volumes mounted only
 *   where their plugin is served (a restarted node detached what its killed self left mounted);
 * - uninstalled plugins: no lease, no folder on any node, the entry point no longer 200 anywhere;
 * - leftovers: `staging/` and `uploads/` empty on every node;
 * - audit: `GET /api/audit/verify` ok, and no fewer entries than before the trial.
 */
import type { KV } from '@nats-io/kv';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { leaseKey, type LeaseValue } from '../../packages/core/src/cluster/leases.ts';
import { mountsUnder } from '../../packages/core/src/install/leftover-mounts.ts';
import { pluginProcesses } from './chaos-core.ts';
import { BASE, HELLO, TENANT } from './chaos-operations.ts';

/** A live node as the checks see it. */
export interface CheckedNode {
  id: string;
  url: string;
  token: string;
  dataDir: string;
}

const PLUGINS = [HELLO, BASE];
const PLUGIN_IN_PATH = new RegExp(`/tenants/${TENANT}/plugins/([^/\\0]+)/`);

async function api(node: CheckedNode, path: string): Promise<any> {
  const r = await fetch(node.url + path, {
    headers: { authorization: `Bearer ${node.token}` },
    signal: AbortSignal.timeout(10_000),
  });
  return r.json();
}

async function entry(node: CheckedNode, pluginId: string): Promise<{ status: number; version?: string }> {
  try {
    const r = await fetch(`${node.url}/_p/${TENANT}/${pluginId}/`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json().catch(() => ({}))) as { version?: string };
    return { status: r.status, ...(body.version ? { version: body.version } : {}) };
  } catch {
    return { status: 0 };
  }
}

/** Plugin id → how many of its plugin processes run from this data folder. */
async function processesByPlugin(dataDir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pid of await pluginProcesses(dataDir)) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    const plugin = PLUGIN_IN_PATH.exec(cmdline)?.[1] ?? `unknown (pid ${pid})`;
    out.set(plugin, (out.get(plugin) ?? 0) + 1);
  }
  return out;
}

/** What a folder holds, relative, a few levels deep (for the report). */
async function listTree(dir: string, depth = 3): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    out.push(e.isDirectory() ? `${e.name}/` : e.name);
    if (e.isDirectory() && depth > 1)
      out.push(...(await listTree(join(dir, e.name), depth - 1)).map((x) => `${e.name}/${x}`));
  }
  return out;
}

async function leaseOf(leases: KV, pluginId: string): Promise<LeaseValue | undefined> {
  const e = await leases.get(leaseKey('serve', TENANT, pluginId));
  return e?.operation === 'PUT' ? e.json<LeaseValue>() : undefined;
}

export async function checkCluster(
  nodes: CheckedNode[],
  leases: KV,
  auditBefore: number,
): Promise<{ problems: string[]; notes: string[]; auditEntries: number }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const any = nodes[0];
  const live = new Set(nodes.map((n) => n.id));

  // installs
  const plugins: any[] = (await api(any, `/api/tenants/${TENANT}/plugins`)).plugins ?? [];
  const installedIds = new Set(plugins.map((p) => p.pluginId as string));
  const installs: any[] = (await api(any, `/api/installs?tenant=${TENANT}&limit=500`)).installs ?? [];
  for (const i of installs) {
    if (!['running', 'failed', 'uninstalled', 'awaiting_config'].includes(i.state))
      problems.push(`install ${i.id} (${i.kind} of ${i.pluginId}) is stuck in ${i.state}`);
    else if (i.state === 'running' && i.pluginId && !installedIds.has(i.pluginId))
      problems.push(`install ${i.id} of uninstalled ${i.pluginId} still says running`);
  }

  // placement and the entry point through every node
  const holders = new Map<string, string>();
  for (const pluginId of PLUGINS) {
    const plugin = plugins.find((p) => p.pluginId === pluginId);
    const lease = await leaseOf(leases, pluginId);
    if (!plugin) {
      if (lease) problems.push(`${pluginId} is uninstalled but ${lease.node} still holds its lease`);
      for (const node of nodes) {
        const answer = await entry(node, pluginId);
        if (answer.status === 200) problems.push(`uninstalled ${pluginId} still answers 200 on ${node.id}`);
        const folders = await readdir(join(node.dataDir, 'tenants', TENANT, 'plugins')).catch(
          () => [] as string[],
        );
        if (folders.includes(pluginId))
          problems.push(
            `folder of uninstalled ${pluginId} left on ${node.id}: ${(await listTree(join(node.dataDir, 'tenants', TENANT, 'plugins', pluginId))).join(' ')}`,
          );
      }
      continue;
    }
    if (plugin.status === 'failed') {
      notes.push(`${pluginId} recorded failed: ${plugin.failure?.code ?? 'did not start'}`);
      continue;
    }
    if (plugin.status !== 'running') problems.push(`${pluginId} is ${plugin.status}`);
    if (!lease) problems.push(`${pluginId} is installed but no node holds its lease`);
    else if (!live.has(lease.node)) problems.push(`${pluginId}'s lease is held by ${lease.node}, not alive`);
    else if (lease.state !== 'ready') problems.push(`${pluginId}'s lease on ${lease.node} is ${lease.state}`);
    if (lease) holders.set(pluginId, lease.node);
    for (const node of nodes) {
      const answer = await entry(node, pluginId);
      if (answer.status !== 200)
        problems.push(`${pluginId}: entry point answered ${answer.status} on ${node.id}`);
      else if (answer.version && answer.version !== plugin.version)
        problems.push(
          `${pluginId}: ${node.id} serves ${answer.version}, the database says ${plugin.version}`,
        );
    }
  }

  // processes, mounts, leftovers per node
  for (const node of nodes) {
    const running = await processesByPlugin(node.dataDir);
    for (const [pluginId, count] of running) {
      const holder = holders.get(pluginId);
      if (holder !== node.id)
        problems.push(
          `${count} process(es) of ${pluginId} on ${node.id}, whose lease ${holder ? `${holder} holds` : 'nobody holds'}`,
        );
      else if (count > 1) problems.push(`${count} processes of ${pluginId} on ${node.id}`);
    }
    for (const [pluginId, holder] of holders)
      if (holder === node.id && !running.has(pluginId))
        problems.push(`${node.id} holds the lease of ${pluginId} but runs no process of it`);
    for (const point of await mountsUnder(join(node.dataDir, 'tenants'))) {
      const pluginId = PLUGIN_IN_PATH.exec(`${point}/`)?.[1];
      if (!pluginId || holders.get(pluginId) !== node.id)
        problems.push(`${point} is mounted on ${node.id}, which does not serve ${pluginId ?? 'it'}`);
    }
    for (const dir of ['staging', 'uploads']) {
      const left = await readdir(join(node.dataDir, dir)).catch(() => [] as string[]);
      if (left.length) problems.push(`${dir}/ of ${node.id} holds ${left.join(', ')}`);
    }
  }

  // audit
  const verify = await api(any, '/api/audit/verify');
  if (!verify.ok) problems.push(`audit does not verify: ${verify.reason ?? JSON.stringify(verify)}`);
  if (verify.entries < auditBefore)
    problems.push(`audit has ${verify.entries} entries, ${auditBefore - verify.entries} fewer than before`);
  return { problems, notes, auditEntries: verify.entries ?? 0 };
}
