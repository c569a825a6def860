/** Every hostile test runs beside a well-behaved neighbour (another tenant) that must keep answering. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { InstanceInfo, SupervisorOptions } from '@powerx/runtime';
import { harness, isAlive, keepAsking, spawnedPids, type Harness } from './helpers.ts';

export interface HostileRun {
  h: Harness;
  neighbour: InstanceInfo;
}

export async function beside(
  run: (ctx: HostileRun) => Promise<void>,
  options: Partial<SupervisorOptions> = {},
): Promise<Harness> {
  const h = await harness(options);
  try {
    const neighbour = await h.supervisor.start(await h.spec('neighbour', { tenant: 'sandbox-b' }));
    const watch = keepAsking(neighbour.socketPath);
    try {
      await run({ h, neighbour });
    } finally {
      const { ok, failures } = await watch.stop();
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(0);
    }
    expect(h.supervisor.get(neighbour.id)?.state).toBe('ready');
    // Core (this test process) is still fine: its own event loop and memory are untouched.
    expect(process.memoryUsage().rss).toBeLessThan(1024 * 1024 * 1024);
  } finally {
    await h.close();
  }
  return h;
}

/** After containment: none of the plugin's processes is alive and its socket files are gone. */
export async function assertNothingLeft(h: Harness, pluginId: string): Promise<void> {
  for (const pid of spawnedPids(h.lines, pluginId))
    expect(isAlive(pid), `pid ${pid} of ${pluginId}`).toBe(false);
  const sockets = await readdir(join(h.root, 'run', 's')).catch(() => []);
  const own = h.supervisor
    .list()
    .filter((i) => i.pluginId !== pluginId)
    .map((i) => `${i.id}.sock`);
  expect(sockets.filter((s) => !own.includes(s))).toEqual([]);
}
