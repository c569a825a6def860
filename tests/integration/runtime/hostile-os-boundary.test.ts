/**
 * The OS boundary: what Node's permission model does not cover (node:sqlite, report, heap
 * snapshot, compile cache, env files, blobs, /proc, kill(-1)) must find nothing, because core's
 * files and processes do not exist inside the plugin's bubblewrap sandbox. These run on every host
 * with bubblewrap (this machine and CI); a host without it fails the suite's isolation test below.
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeHostIsolation } from '@powerx/runtime';
import { request, waitFor } from './helpers.ts';
import { beside } from './hostile-setup.ts';

type Attempt = { ok: boolean; code?: string | null; value?: string | null };

/** A stand-in for core's database: a real SQLite file with the table the attack aims at. */
async function coreDatabase(root: string): Promise<{ path: string; outside: string; tokens(): number }> {
  const dir = join(root, 'core');
  const outside = join(root, 'outside');
  await mkdir(dir, { recursive: true });
  await mkdir(outside, { recursive: true });
  const path = join(dir, 'core.db');
  const db = new DatabaseSync(path);
  db.exec(
    "CREATE TABLE api_tokens (user_id TEXT, token TEXT); INSERT INTO api_tokens VALUES ('admin', 'real')",
  );
  db.close();
  return {
    path,
    outside,
    tokens() {
      const check = new DatabaseSync(path, { readOnly: true });
      try {
        return Number((check.prepare('SELECT count(*) AS n FROM api_tokens').get() as { n: number }).n);
      } finally {
        check.close();
      }
    },
  };
}

describe('plugins at the OS boundary (bubblewrap)', () => {
  const host = probeHostIsolation();

  it('runs on a host that has the sandbox: bubblewrap, cgroups and loop devices are all here', () => {
    // Not a skip: this machine and CI must run every check of this file.
    expect(host.bwrap, host.notes.join('; ')).toBeTruthy();
    expect(host.root ? host.cgroup : true, host.notes.join('; ')).toBeTruthy();
    expect(host.root ? host.loopDisk : true, host.notes.join('; ')).toBeTruthy();
  });

  it("cannot open core's database with node:sqlite, by import, require or getBuiltinModule, nor VACUUM INTO or ATTACH outside", async () => {
    await beside(async ({ h }) => {
      const core = await coreDatabase(h.root);
      const info = await h.supervisor.start(
        await h.spec('node-doors', {
          config: { CORE_DB: core.path, OUTSIDE: core.outside, CORE_PID: process.pid },
        }),
      );
      const result = (await request(info, '/sqlite')).json<
        Record<string, Record<string, Attempt> & Attempt>
      >();
      for (const way of ['import', 'require', 'getBuiltinModule']) {
        expect(result[way].read, `${way} read`).toMatchObject({ ok: false });
        expect(result[way].write, `${way} write`).toMatchObject({ ok: false });
      }
      expect(result.vacuumInto).toMatchObject({ ok: false });
      expect(result.attach).toMatchObject({ ok: false });
      expect(result.attachCore).toMatchObject({ ok: false });
      expect(core.tokens()).toBe(1);
      expect(await readdir(core.outside)).toEqual([]);
      expect(await readdir(join(h.root, 'core'))).toEqual(['core.db']);
    });
  });

  it('finds no other door: blobs, env files, compile cache, reports, heap snapshots, inspector, /proc, /etc', async () => {
    await beside(async ({ h }) => {
      const core = await coreDatabase(h.root);
      const info = await h.supervisor.start(
        await h.spec('node-doors', {
          config: { CORE_DB: core.path, OUTSIDE: core.outside, CORE_PID: process.pid },
        }),
      );
      const result = (await request(info, '/doors')).json<Record<string, Attempt> & { uid: number }>();
      for (const door of [
        'openAsBlob',
        'loadEnvFile',
        'writeReport',
        'writeHeapSnapshot',
        'inspector',
        'procOneEnviron',
        'coreEnviron',
        'coreCmdline',
        'etcPasswd',
        'pids',
      ])
        expect(result[door], door).toMatchObject({ ok: false });
      // enableCompileCache reports failure in its return value rather than throwing.
      expect(result.enableCompileCache.value ?? '').not.toMatch(/"status":1\b/);
      expect(result.uid).toBe(1000);
      expect(await readdir(core.outside)).toEqual([]);
      expect(core.tokens()).toBe(1);
    });
  });

  it('runs as the unprivileged sandbox uid with no capabilities, no_new_privs, seccomp, its own namespaces and cgroup', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('neighbour', { tenant: 'sandbox-c' }));
      const status = await readFile(`/proc/${info.pid}/status`, 'utf8');
      const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '';
      const expectedUid = host.root ? 59_500 : process.getuid!();
      expect(field('Uid').split(/\s+/).map(Number)).toEqual([
        expectedUid,
        expectedUid,
        expectedUid,
        expectedUid,
      ]);
      expect(field('CapEff')).toBe('0000000000000000');
      expect(field('CapBnd')).toBe('0000000000000000');
      expect(field('NoNewPrivs')).toBe('1');
      expect(field('Seccomp')).toBe('2');
      for (const ns of ['user', 'mnt', 'pid', 'net', 'ipc', 'uts'])
        expect(await readlink(`/proc/${info.pid}/ns/${ns}`), ns).not.toBe(
          await readlink(`/proc/self/ns/${ns}`),
        );
      expect(info.isolation).toMatchObject({
        level: 'bubblewrap',
        weak: false,
        uid: expectedUid,
        uidInside: 1000,
        seccomp: true,
        namespaces: ['user', 'mount', 'pid', 'network', 'ipc', 'uts', 'cgroup'],
      });
      if (host.root) {
        expect(info.isolation.cgroup).toMatchObject({ version: host.cgroup!.version, pidsMax: 64 });
        const cgroups = await readFile(`/proc/${info.pid}/cgroup`, 'utf8');
        expect(cgroups).toContain(`/powerx/${info.id}`);
        expect(info.isolation.disk).toMatchObject({ mechanism: 'ext4-loop', limitMb: 64 });
      }
      await h.supervisor.stop(info.id);
      if (host.cgroup?.version === 1) {
        const gone = await readdir(join(host.cgroup.roots.memory, 'powerx')).catch(() => []);
        expect(gone.filter((name) => name.startsWith(info.id))).toEqual([]);
      }
    });
  });

  it('cannot signal anything outside its sandbox with kill(-1)', async () => {
    await beside(async ({ h }) => {
      const core = await coreDatabase(h.root);
      const info = await h.supervisor.start(
        await h.spec('node-doors', {
          config: { CORE_DB: core.path, OUTSIDE: core.outside, CORE_PID: process.pid },
        }),
      );
      expect((await request(info, '/kill-all')).json()).toEqual({ sending: 'SIGKILL to -1' });
      // It may take itself down (a crash, restarted); nothing outside its namespace is touched.
      await new Promise((r) => setTimeout(r, 500));
      await waitFor(() => h.supervisor.get(info.id)?.state === 'ready', 'the plugin to be ready again');
      expect(process.kill(process.pid, 0)).toBe(true);
    });
  });
});
