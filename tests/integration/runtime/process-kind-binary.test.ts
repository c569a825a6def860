/**
 * A real compiled executable as a `runtime.kind: process` plugin: a small C HTTP server, built with
 * gcc here, runs in the same sandbox as node plugins and can do none of what an executable could
 * try outside it.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir } from 'node:fs/promises';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir, request, waitFor } from './helpers.ts';
import { beside } from './hostile-setup.ts';

async function buildC(root: string): Promise<string> {
  const versionDir = join(root, 'versions', 'process-c');
  await cp(join(fixturesDir, 'process-c'), versionDir, { recursive: true });
  await mkdir(join(versionDir, 'dist'), { recursive: true });
  execFileSync('gcc', ['-O2', '-o', join(versionDir, 'dist', 'server'), join(versionDir, 'src', 'server.c')]);
  return versionDir;
}

describe('a compiled executable as a process-kind plugin', () => {
  it('serves HTTP on PX_SOCKET from inside the sandbox, as the unprivileged uid', async () => {
    await beside(async ({ h }) => {
      const versionDir = await buildC(h.root);
      const info = await h.supervisor.start(await h.spec('process-c', { versionDir }));
      expect(info.isolation).toMatchObject({
        level: 'bubblewrap',
        weak: false,
        seccomp: true,
        uidInside: 1000,
      });
      expect((await request(info, '/hi')).json()).toEqual({ hello: 'from C', uid: 1000, path: '/hi' });
      await h.supervisor.stop(info.id);
      expect(
        h.lines.some((l) => l.source === 'stdout' && l.msg.startsWith('process plugin (C) listening')),
      ).toBe(true);
    });
  });

  it("cannot become root, fork-bomb, ptrace, mount, make a user namespace, open core's database or connect out", async () => {
    await beside(async ({ h }) => {
      const bait = net.createServer((socket) => socket.destroy());
      let connections = 0;
      bait.on('connection', () => connections++);
      bait.listen(0, '127.0.0.1');
      await once(bait, 'listening');
      try {
        const versionDir = await buildC(h.root);
        const coreDb = join(h.root, 'core.db');
        execFileSync('touch', [coreDb]);
        const info = await h.supervisor.start(
          await h.spec('process-c', {
            versionDir,
            config: { CORE_DB: coreDb, TCP_PORT: (bait.address() as AddressInfo).port },
          }),
        );
        const result = (await request(info, '/attack')).json<Record<string, unknown>>();
        expect(result).toMatchObject({
          uid: 1000,
          euid: 1000,
          setuid0: 'EINVAL',
          openCoreDb: 'ENOENT',
          etcPasswd: 'ENOENT',
          ptrace: 'EPERM',
          mount: 'EPERM',
          unshareUser: 'EPERM',
          forkError: 'EAGAIN',
        });
        // Its own network namespace: 127.0.0.1 is its own loopback, where nothing listens.
        expect(['ECONNREFUSED', 'ENETUNREACH']).toContain(result.tcpConnect);
        // /proc/1 is the sandbox's own init (root-owned, unreadable), never core's.
        expect(['EACCES', 'ok']).toContain(result.procOneEnviron);
        expect(String(result.procOneEnvironText)).not.toMatch(/PX_MASTER_KEY|PX_ADMIN/);
        // The pids cgroup stops the fork bomb well before it hurts the machine.
        expect(Number(result.forks)).toBeLessThan(64);
        expect(Number(result.forks)).toBeGreaterThan(0);
        expect(connections).toBe(0);
        expect(h.supervisor.get(info.id)?.state).toBe('ready');
      } finally {
        bait.close();
      }
    });
  });

  it('cannot signal anything outside its sandbox with kill(-1)', async () => {
    await beside(async ({ h }) => {
      const versionDir = await buildC(h.root);
      const info = await h.supervisor.start(await h.spec('process-c', { versionDir }));
      await request(info, '/kill-all').catch(() => undefined);
      // It takes its own sandbox down (a crash, restarted); core and the neighbour are untouched.
      await waitFor(() => (h.supervisor.get(info.id)?.restarts ?? 0) > 0, 'a restart');
      await waitFor(() => h.supervisor.get(info.id)?.state === 'ready', 'ready again');
    });
  });
});
