/**
 * A core killed with SIGKILL leaves its plugins' cgroups behind (the plugins exit, their cgroups
 * stay, empty). When that core starts again it removes them, and only them: two cores on one
 * machine (real child processes, real sandboxed plugins in real cgroups) are both killed, then
 * started again one after the other; neither removes the other's cgroups, empty or in use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { probeHostIsolation, releaseStaleDataVolumes } from '@powerx/runtime';
import { keysDir, makeTmp, packFixtures } from '../../support/core-kit.ts';
import { pluginProcesses, startCoreProcess, type CoreProcess } from '../../support/core-process.ts';
import { until } from '../../support/until.ts';

const host = probeHostIsolation();
const cgroup = host.bwrap ? host.cgroup : undefined;

let tmp: string;
let hello: string;
const running: CoreProcess[] = [];

async function start(dataDir: string): Promise<CoreProcess> {
  const core = await startCoreProcess({ dataDir, platformKeysDir: join(tmp, 'keys'), home: tmp });
  running.push(core);
  return core;
}

/** The cgroup folders the plugin processes of a data folder are in, as /proc/<pid>/cgroup names them. */
async function pluginCgroupDirs(dataDir: string): Promise<string[]> {
  const dirs = new Set<string>();
  for (const pid of await pluginProcesses(dataDir)) {
    const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      // v1: "5:memory:/powerx/<name>", v2: "0::/powerx/<name>"
      const [, controllers = '', path = ''] = line.split(':');
      if (!path.startsWith('/powerx/')) continue;
      if (cgroup!.version === 2) dirs.add(join(cgroup!.root, path));
      else
        for (const [name, root] of Object.entries(cgroup!.roots))
          if (controllers.split(',').includes(name)) dirs.add(join(root, path));
    }
  }
  return [...dirs].sort();
}

const isEmpty = async (dir: string) => (await readFile(join(dir, 'cgroup.procs'), 'utf8')).trim() === '';

async function installHello(core: CoreProcess, dataDir: string): Promise<string[]> {
  const install = await core.api.install(hello, { config: { secrets: { API_KEY: 'cgroup-test' } } });
  expect(install.body.state).toBe('running');
  const dirs = await pluginCgroupDirs(dataDir);
  expect(dirs.length).toBeGreaterThan(0);
  return dirs;
}

beforeAll(async () => {
  tmp = await makeTmp();
  hello = (await packFixtures(join(tmp, 'pkgs'))).hello;
  await mkdir(join(tmp, 'keys'));
  await copyFile(join(keysDir, 'test.pub.pem'), join(tmp, 'keys', 'test.pub.pem'));
});

afterAll(async () => {
  for (const core of running) await core.stop();
  // A killed core never started again (a failed run) leaves its plugin's data volume mounted.
  await releaseStaleDataVolumes(tmp);
  await rm(tmp, { recursive: true, force: true });
});

describe('plugin cgroups a killed core left behind', () => {
  it.skipIf(!cgroup)(
    'are removed when that core starts again, and another core on the machine keeps its own',
    { timeout: 120_000 },
    async () => {
      const dataA = join(tmp, 'a');
      const dataB = join(tmp, 'b');
      const a = await start(dataA);
      const leftByA = await installHello(a, dataA);
      const b = await start(dataB);
      const leftByB = await installHello(b, dataB);

      await a.kill();
      await b.kill();
      await until(
        async () => [...(await pluginProcesses(dataA, true)), ...(await pluginProcesses(dataB, true))],
        {
          ok: (pids) => pids.length === 0,
          message: 'the plugin processes of both killed cores to exit',
          timeoutMs: 30_000,
        },
      );
      for (const dir of [...leftByA, ...leftByB]) {
        expect(existsSync(dir), dir).toBe(true);
        expect(await isEmpty(dir), dir).toBe(true);
      }

      // A starts again: its leftovers go; B's, empty too, are not A's to remove.
      await start(dataA);
      for (const dir of leftByA) expect(existsSync(dir), dir).toBe(false);
      for (const dir of leftByB) expect(existsSync(dir), dir).toBe(true);
      // Its plugin serves again, in a new cgroup.
      const liveA = await until(() => pluginCgroupDirs(dataA), {
        ok: (dirs) => dirs.length > 0,
        message: 'the plugin of the restarted core to run again',
        timeoutMs: 30_000,
      });
      expect(liveA.filter((dir) => leftByA.includes(dir))).toEqual([]);

      // B starts again: its leftovers go; A's live ones stay.
      await start(dataB);
      for (const dir of leftByB) expect(existsSync(dir), dir).toBe(false);
      for (const dir of liveA) expect(existsSync(dir), dir).toBe(true);
    },
  );
});
