import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeHostIsolation } from '@powerx/runtime';
import { request, waitFor } from './helpers.ts';
import { beside } from './hostile-setup.ts';

type Attempt = { blocked: boolean; code: string | null; permission: string | null };

describe('plugins that try to escape the sandbox', () => {
  it('cannot start a child process', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('spawn-child'));
      const result = (await request(info, '/attempt')).json<Record<string, Attempt>>();
      expect(result.execFileSync).toMatchObject({
        blocked: true,
        code: 'ERR_ACCESS_DENIED',
        permission: 'ChildProcess',
      });
      expect(result.spawn).toMatchObject({ blocked: true, permission: 'ChildProcess' });
      expect(h.supervisor.get(info.id)?.state).toBe('ready');
    });
  });

  it('cannot start a worker thread', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('spawn-worker'));
      const result = (await request(info, '/attempt')).json<Record<string, Attempt>>();
      expect(result.worker).toMatchObject({
        blocked: true,
        code: 'ERR_ACCESS_DENIED',
        permission: 'WorkerThreads',
      });
    });
  });

  it('cannot read /etc/passwd or other host files', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('read-passwd'));
      const result = (await request(info, '/attempt')).json<Record<string, Attempt>>();
      for (const name of ['passwd', 'procEnviron', 'rootListing']) {
        expect(result[name], name).toMatchObject({
          blocked: true,
          code: 'ERR_ACCESS_DENIED',
          permission: 'FileSystemRead',
        });
      }
    });
  });

  it("cannot read core's data", async () => {
    await beside(async ({ h }) => {
      const coreDir = join(h.root, 'core');
      await mkdir(coreDir, { recursive: true });
      await writeFile(join(coreDir, 'core.sqlite'), 'core-only-data');
      const info = await h.supervisor.start(
        await h.spec('read-core-data', { config: { TARGET: join(coreDir, 'core.sqlite') } }),
      );
      const result = (await request(info, '/attempt')).json<Record<string, Attempt>>();
      expect(result.file).toMatchObject({ blocked: true, permission: 'FileSystemRead' });
      expect(result.folder).toMatchObject({ blocked: true, permission: 'FileSystemRead' });
      expect(result.viaPromises).toMatchObject({ blocked: true, permission: 'FileSystemRead' });
    });
  });

  it("cannot read another tenant's data folder, but can use its own", async () => {
    await beside(async ({ h, neighbour }) => {
      const neighbourData = join(h.root, 'data', neighbour.tenant, neighbour.pluginId);
      await writeFile(join(neighbourData, 'orders.json'), '{"tenant":"sandbox-b"}');
      const info = await h.supervisor.start(
        await h.spec('read-other-tenant', { config: { TARGET: join(neighbourData, 'orders.json') } }),
      );
      const result = (await request(info, '/attempt')).json<Record<string, Attempt & { value?: string }>>();
      expect(result.file).toMatchObject({ blocked: true, permission: 'FileSystemRead' });
      expect(result.folder).toMatchObject({ blocked: true, permission: 'FileSystemRead' });
      expect(result.dotdot).toMatchObject({ blocked: true, permission: 'FileSystemRead' });
      expect(result.own).toMatchObject({ blocked: false, value: 'ok' });
    });
  });

  it('cannot write outside its data folder', async () => {
    await beside(async ({ h }) => {
      const target = join(h.root, 'core', 'pwned.txt');
      await mkdir(join(h.root, 'core'), { recursive: true });
      const spec = await h.spec('write-outside', { config: { TARGET: target } });
      const info = await h.supervisor.start(spec);
      const result = (await request(info, '/attempt')).json<Record<string, Attempt & { value?: string }>>();
      for (const name of ['target', 'ownCode', 'tmp', 'symlink']) {
        expect(result[name], name).toMatchObject({ blocked: true, code: 'ERR_ACCESS_DENIED' });
      }
      expect(result.inside).toMatchObject({ blocked: false, value: 'written' });
      expect(existsSync(target)).toBe(false);
      expect(existsSync(join(spec.dataDir, 'inside.txt'))).toBe(true);
    });
  });

  it('cannot open a connection out, listen, or send UDP', async () => {
    await beside(async ({ h }) => {
      let connections = 0;
      const bait = net.createServer((s) => {
        connections++;
        s.destroy();
      });
      bait.listen(0, '127.0.0.1');
      await once(bait, 'listening');
      try {
        const port = (bait.address() as AddressInfo).port;
        const info = await h.supervisor.start(await h.spec('tcp-out'));
        const result = (await request(info, `/attempt?port=${port}`)).json<Record<string, Attempt>>();
        for (const name of ['tcp', 'tcpOut', 'fetch', 'listen', 'udp']) {
          expect(result[name], name).toMatchObject({ blocked: true, code: 'ERR_ACCESS_DENIED' });
        }
        expect(connections).toBe(0);
      } finally {
        bait.close();
      }
    });
  });

  it('reports escape attempts it did not catch at warn level, with the permission and the resource', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('escape-unhandled'));
      expect((await request(info, '/attempt')).status).toBe(500);
      const thrown = await waitFor(
        () => h.lines.find((l) => l.instance === info.id && l.msg.startsWith('blocked by the sandbox')),
        'the thrown denial',
      );
      expect(thrown).toMatchObject({
        level: 'warn',
        msg: 'blocked by the sandbox: FileSystemRead /etc/passwd',
        fields: {
          code: 'ERR_ACCESS_DENIED',
          permission: 'FileSystemRead',
          resource: '/etc/passwd',
          path: '/attempt',
        },
      });
      await request(info, '/uncaught');
      const uncaught = await waitFor(
        () =>
          h.lines.find(
            (l) => l.instance === info.id && l.msg.startsWith('blocked by the sandbox: ChildProcess'),
          ),
        'the uncaught denial',
      );
      expect(uncaught).toMatchObject({
        level: 'warn',
        msg: 'blocked by the sandbox: ChildProcess /bin/true',
        fields: { code: 'ERR_ACCESS_DENIED', permission: 'ChildProcess', resource: '/bin/true' },
      });
    });
  });

  it('cannot kill core or a neighbour plugin with process.kill (own PID namespace)', async () => {
    const host = probeHostIsolation();
    await beside(async ({ h, neighbour }) => {
      const info = await h.supervisor.start(await h.spec('kill-others'));
      expect(info.isolation.pidNamespace).toBe(host.pidNamespace);
      if (!host.pidNamespace) return; // this host cannot give a PID namespace; reported honestly above
      const neighbourPid = h.supervisor.get(neighbour.id)!.pid!;
      const answer = (await request(info, `/kill?pids=${process.pid},${neighbourPid}`)).json<{
        self: number;
        results: Record<string, string>;
      }>();
      expect(answer.results).toEqual({ [process.pid]: 'ESRCH', [neighbourPid]: 'ESRCH' });
      // Inside its namespace the plugin is a small pid; the supervisor knows its host pid.
      expect(answer.self).toBeLessThan(10);
      expect(h.supervisor.get(info.id)!.pid).not.toBe(answer.self);
      expect((await request(neighbour, '/ping')).json<{ pong: number }>().pong).toBeGreaterThan(0);
      expect(h.supervisor.get(info.id)?.state).toBe('ready');
    });
  });
});
