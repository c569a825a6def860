/**
 * The README's two cluster commands, as a user types them (`npm run cluster:node -- a …` and
 * `… b …`, started together): both nodes come up on the shared PostgreSQL and NATS with one set
 * of shared keys, the hello example gets installed once, and its entry point answers on both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createScratchSchema,
  openTestNats,
  randomNatsPrefix,
  TEST_NATS_URL,
  type ScratchSchema,
} from '@powerx/core';
import { makeTmp, repoRoot } from '../../support/core-kit.ts';
import { probe, until } from './cluster-kit.ts';

const nodes: ChildProcess[] = [];
let schema: ScratchSchema | undefined;
let prefix = '';
let tmp = '';

/** Starts one node the README's way; resolves with its printed URL once it printed everything. */
function startNode(id: string, env: NodeJS.ProcessEnv): Promise<{ url: string; output: () => string }> {
  const child = spawn('npm', ['run', '--silent', 'cluster:node', '--', id, '0'], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nodes.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', () => {
      const url = /cluster node \S+, on (http:\/\/\S+)/.exec(text)?.[1];
      if (url && text.includes('Ctrl-C')) resolve({ url, output: () => text });
    });
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${text}`)));
  });
}

/** Whether any process of the group (npm and the node it runs) is still there. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  // Ctrl-C in one terminal, then in the other: SIGTERM to a node's group; npm exits at once, the
  // node hands its plugins over (or, the last one, stops them) after it: wait for the group.
  for (const child of nodes) {
    if (!child.pid || !groupAlive(child.pid)) continue;
    process.kill(-child.pid, 'SIGTERM');
    const deadline = Date.now() + 40_000;
    while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  }
  await schema?.drop().catch(() => {});
  if (prefix) await (await openTestNats(1, { prefix })).close();
  // A node killed for not stopping in time leaves its plugins' data volumes mounted.
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((path) => tmp && path?.startsWith(`${tmp}/`));
  for (const path of mounts.sort().reverse())
    await promisify(execFile)('umount', ['-l', path]).catch(() => {});
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 90_000);

describe('the README cluster quick start', { timeout: 180_000 }, () => {
  it('npm run cluster:node twice makes a two-node cluster that serves hello on both nodes', async () => {
    tmp = await makeTmp('pxqs-');
    schema = await createScratchSchema();
    prefix = randomNatsPrefix();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PX_CLUSTER_DIR: tmp,
      PX_DATABASE_URL: schema.url,
      PX_DATABASE_SCHEMA: schema.schema,
      PX_NATS_URL: TEST_NATS_URL,
      PX_NATS_PREFIX: prefix,
      HOME: tmp,
    };
    const [a, b] = await Promise.all([startNode('a', env), startNode('b', env)]);
    // One set of keys for the cluster, made by whichever node came first, readable by root only.
    for (const key of ['master.key', 'audit.key'])
      expect((await stat(join(tmp, key))).mode & 0o777).toBe(0o600);
    for (const node of [a, b]) {
      const answer = await until(
        () => probe(`${node.url}/_p/sandbox-dev/com.powerx.plugin.hello/hello`),
        (r) => r.status === 200,
        `hello through ${node.url}`,
        60_000,
      );
      expect(JSON.parse(answer.text)).toMatchObject({ plugin: { id: 'com.powerx.plugin.hello' } });
    }
    // Installed once: by one node, found running (or being installed) by the other.
    expect(`${a.output()}${b.output()}`.match(/installed \(install /g)?.length).toBe(1);
  });
});
