/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * Dev sessions are cluster-wide: two real core nodes (B and C) on one PostgreSQL and NATS. A
 * session opened through B holds the plugin on C too, is kept alive and used through C, outlives
 * kill -9 of B, and — once its heartbeats stop — expires once for the whole cluster (B, restarted,
 * sweeps too) and frees the plugin for the next developer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Api } from '../../support/core-kit.ts';
import { DEV_ID, FIXTURES, newSandbox } from '../dev/dev-kit.ts';
import { TestCluster, until, type ClusterNode } from './cluster-kit.ts';

/** The idle timeout of the test's dev policy: short, yet many heartbeat periods (1 s) long for a loaded machine. */
const IDLE_TIMEOUT_S = 10;
const TENANT = 'cluster-dev-locks';

let cluster: TestCluster;
let b: ClusterNode, c: ClusterNode;
let policyEnv: Record<string, string>;

beforeAll(async () => {
  cluster = await TestCluster.create();
  const policyFile = join(cluster.tmp, 'dev_policy.yaml');
  await writeFile(policyFile, `sessions:\n  idleTimeoutSeconds: ${IDLE_TIMEOUT_S}\n  maxPerUser: 5\n`);
  policyEnv = { PX_DEV_POLICY_FILE: policyFile };
  [b, c] = await Promise.all([cluster.start('node-b', policyEnv), cluster.start('node-c', policyEnv)]);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
}, 120_000);

/** Developer 1's `px-plugin dev`: a heartbeat through C every second until stopped. */
function heartbeats(api: Api, id: string) {
  const statuses: number[] = [];
  let running = true;
  let lastSentAt = 0;
  const loop = (async () => {
    while (running) {
      lastSentAt = Date.now();
      statuses.push((await api.post(`/api/plugins/dev/sessions/${id}/heartbeat`)).status);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    statuses,
    /** When the last heartbeat was sent: the session lives at least one idle timeout past it. */
    lastSentAt: () => lastSentAt,
    async stop() {
      running = false;
      await loop;
    },
  };
}

const expiredEntries = async (api: Api) =>
  (await api.get(`/api/audit?tenant=${TENANT}&action=plugin.dev.session.expired&limit=100`)).body.entries;

describe('dev sessions across cluster nodes', { timeout: 240_000 }, () => {
  it('holds one session per plugin cluster-wide, through any node, beyond the node that opened it', async () => {
    await newSandbox(b.api, TENANT);
    const dev1 = await b.api.user('dev1', ['plugin:dev'], [TENANT]);
    const dev2 = await b.api.user('dev2', ['plugin:dev'], [TENANT]);
    const dev1ViaC = new Api(c.url, dev1.token);
    const dev2ViaC = new Api(c.url, dev2.token);

    // Developer 1 opens the session through B.
    const opened = await dev1.post('/api/plugins/dev/sessions', {
      tenant: TENANT,
      pluginId: DEV_ID,
      client: 'px-plugin dev on laptop-1 (pid 1)',
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const session = opened.body;
    const beat = heartbeats(dev1ViaC, session.id);
    try {
      // Developer 2 is refused through C, told who holds it.
      const refused = await dev2ViaC.post('/api/plugins/dev/sessions', {
        tenant: TENANT,
        pluginId: DEV_ID,
        client: 'px-plugin dev on laptop-2 (pid 2)',
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body.code).toBe('DEV_SESSION_CONFLICT');
      expect(refused.body.message).toContain('dev1 (px-plugin dev on laptop-1 (pid 1)');

      // Developer 1 dev-installs through C under the session opened through B.
      const dir = join(cluster.tmp, 'projects', 'dev-hello');
      await cp(join(FIXTURES, 'dev-hello'), dir, { recursive: true });
      const manifest = join(dir, 'manifest.json');
      // Plugin starts on a loaded machine may take longer than the fixture's 3 s health timeout.
      await writeFile(
        manifest,
        (await readFile(manifest, 'utf8')).replace('"timeoutMs": 3000', '"timeoutMs": 20000'),
      );
      const installed = await dev1ViaC.post('/api/plugins/dev/install', {
        tenant: TENANT,
        path: dir,
        sessionId: session.id,
      });
      expect(installed.body.result, JSON.stringify(installed.body)).toBe('running');
      const listed = await c.api.get(`/api/plugins/dev/sessions?tenant=${TENANT}`);
      expect(listed.body.sessions.map((s: any) => [s.id, s.user])).toEqual([[session.id, 'dev1']]);

      // kill -9 of B, the node the session was opened through: the session lives on.
      await cluster.kill('node-b');
      const heartbeatsBefore = beat.statuses.length;
      await until(
        () => beat.statuses.length,
        (n) => n >= heartbeatsBefore + 3,
        'heartbeats through C after B is gone',
      );
      expect(
        (await dev2ViaC.post('/api/plugins/dev/sessions', { tenant: TENANT, pluginId: DEV_ID })).body.code,
      ).toBe('DEV_SESSION_CONFLICT');
      // B comes back (same node id): it sweeps sessions like C from now on.
      b = await cluster.start('node-b', policyEnv);
      expect(
        (
          await new Api(b.url, dev2.token).post('/api/plugins/dev/sessions', {
            tenant: TENANT,
            pluginId: DEV_ID,
          })
        ).body.code,
      ).toBe('DEV_SESSION_CONFLICT');
      expect(await expiredEntries(c.api)).toEqual([]);
    } finally {
      await beat.stop();
    }
    // Every heartbeat — through the kill and restart of B — found the session.
    expect(beat.statuses.filter((s) => s !== 200)).toEqual([]);

    // Developer 1's CLI is gone: after the idle timeout the session expires, and developer 2 gets it.
    const taken = await until(
      () => dev2ViaC.post('/api/plugins/dev/sessions', { tenant: TENANT, pluginId: DEV_ID }),
      (r) => r.status === 201,
      'the expired session freeing the plugin',
      IDLE_TIMEOUT_S * 1000 + 60_000,
    );
    // Not before its time: the idle timeout counts from the last heartbeat.
    expect(Date.now() - beat.lastSentAt()).toBeGreaterThanOrEqual(IDLE_TIMEOUT_S * 1000);
    expect(taken.body.user).toBe('dev2');
    // Developer 2's session, opened through C, ends through B.
    const dev2ViaB = new Api(b.url, dev2.token);
    expect(
      (await dev2ViaB.req('DELETE', `/api/plugins/dev/sessions/${taken.body.id}?keep=true`)).status,
    ).toBe(200);
    await until(
      () => c.api.get(`/api/plugins/dev/sessions?tenant=${TENANT}`),
      (r) => r.body.sessions?.length === 0,
      'C listing no session once it ended',
    );
    expect((await dev1ViaC.post(`/api/plugins/dev/sessions/${session.id}/heartbeat`)).body.code).toBe(
      'DEV_SESSION_NOT_FOUND',
    );

    // Expired once for the cluster: one audit entry, however many nodes swept.
    await until(
      () => expiredEntries(b.api),
      (entries) => entries.length > 0,
      'the expiry audited',
    );
    await new Promise((r) => setTimeout(r, 3000)); // several sweeps of both nodes
    const entries = await expiredEntries(c.api);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'system',
      target: DEV_ID,
      details: { session: session.id, user: 'dev1' },
    });
  });
});
