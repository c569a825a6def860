/**
 * Disk quotas that hold: on an ext4 image of resources.diskMb (root + loop devices, as here and in
 * CI) the file system itself refuses writes past the quota; where only sampling is possible, no
 * entry cap, allocated blocks of files and folders, and a file-count limit.
 */
import { execFileSync } from 'node:child_process';
import { readFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeHostIsolation, type InstanceFailure } from '@powerx/runtime';
import { request, waitFor } from './helpers.ts';
import { beside } from './hostile-setup.ts';

type FloodStatus = { phase: string; files: number; large: number; bytes: number; firstError: string | null };

const failureOf = (
  events: Array<{ type: string; instance: { id: string }; failure?: InstanceFailure }>,
  id: string,
) => events.find((e) => e.type === 'instance.failed' && e.instance.id === id)?.failure;

/** Asks the flood fixture to start, then polls its status until it is done. */
async function flood(target: { socketPath: string }, limitMs = 90_000): Promise<FloodStatus> {
  await request(target, '/start');
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    const status = await request(target, '/status').then(
      (r) => r.json<FloodStatus>(),
      () => undefined,
    );
    if (status?.phase === 'done') return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the flood did not end');
}

/**
 * Starts the flood where only sampling bounds it: the first batch runs before /start answers, and
 * on a loaded machine the sampler may stop the plugin for it first (socket hang up). The QUOTA_DISK
 * failure waited for next is the answer that counts.
 */
async function startFlood(target: { socketPath: string }): Promise<void> {
  await request(target, '/start').catch(() => undefined);
}

async function mountedAt(dir: string): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === dir);
}

/** Loop devices still backed by the image (an emptied volume's image is removed at release). */
function loopDevicesOf(image: string): string {
  return execFileSync('losetup', ['-a'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(image))
    .join('\n');
}

describe('disk quotas held by the file system (ext4 image on a loop device)', { timeout: 120_000 }, () => {
  const host = probeHostIsolation();

  it('runs here: root, loop devices and mkfs.ext4 are available', () => {
    expect(host.loopDisk, host.notes.join('; ')).toBeTruthy();
  });

  it('stops 100,001 empty files and then large files with ENOSPC inside the plugin, space accounted, nothing left mounted', async () => {
    await beside(async ({ h }) => {
      const spec = await h.spec('file-flood');
      const info = await h.supervisor.start(spec);
      expect(info.isolation.disk).toMatchObject({ mechanism: 'ext4-loop', limitMb: 16 });
      const last = await flood(info);
      expect(last.firstError).toBe('ENOSPC');
      expect(last.files).toBeLessThan(100_001);
      expect(last.files).toBeLessThanOrEqual(info.isolation.disk!.maxFiles);
      expect(last.bytes).toBeLessThanOrEqual(16 * 2 ** 20);
      // Every inode is taken: the space is accounted as files, the bytes stay under the quota.
      await waitFor(() => (h.supervisor.get(info.id)?.usage.diskFiles ?? 0) > 1000, 'the usage sample');
      const usage = h.supervisor.get(info.id)!.usage;
      expect(usage.diskMb).toBeGreaterThan(0);
      expect(usage.diskMb).toBeLessThanOrEqual(16);
      expect(h.supervisor.get(info.id)?.state).toBe('ready');
      expect(await mountedAt(spec.dataDir)).toBe(true);
      await h.supervisor.stop(info.id);
      expect(await mountedAt(spec.dataDir)).toBe(false);
      expect(loopDevicesOf(join(spec.dataDir, '.px-disk.ext4'))).toBe('');
    });
  });

  it('stops many small files written as fast as possible with ENOSPC at the quota', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('file-flood', { config: { MODE: 'small-fast' } }));
      const last = await flood(info);
      expect(last.firstError).toBe('ENOSPC');
      expect(last.bytes).toBeLessThanOrEqual(16 * 2 ** 20);
    });
  });

  it('grows the volume when a new version raises diskMb, keeping the data', async () => {
    await beside(async ({ h }) => {
      const base = await h.spec('neighbour', { tenant: 'sandbox-c' });
      const sized = (diskMb: number) => ({
        ...base,
        manifest: { ...base.manifest, resources: { ...base.manifest.resources, diskMb } },
      });
      const small = await h.supervisor.start(sized(8));
      await writeFile(join(base.dataDir, 'kept.txt'), 'still here');
      const before = await statfs(base.dataDir);
      await h.supervisor.stop(small.id);
      const large = await h.supervisor.start(sized(24));
      const after = await statfs(base.dataDir);
      expect(after.blocks * after.bsize).toBeGreaterThan(before.blocks * before.bsize * 2);
      expect(await readFile(join(base.dataDir, 'kept.txt'), 'utf8')).toBe('still here');
      await h.supervisor.stop(large.id);
    });
  });

  it('keeps the volume mounted while another instance of the plugin (blue/green) still uses it', async () => {
    await beside(async ({ h }) => {
      const spec = await h.spec('neighbour', { tenant: 'sandbox-c' });
      const blue = await h.supervisor.start(spec);
      const green = await h.supervisor.start(spec);
      await h.supervisor.stop(blue.id);
      expect(await mountedAt(spec.dataDir)).toBe(true);
      expect((await request(green, '/ping')).status).toBe(200);
      await h.supervisor.stop(green.id);
      expect(await mountedAt(spec.dataDir)).toBe(false);
      expect(loopDevicesOf(join(spec.dataDir, '.px-disk.ext4'))).toBe('');
    });
  });
});

describe('disk quotas where only sampling is possible', { timeout: 120_000 }, () => {
  it('stops 100,001 empty files with QUOTA_DISK: no entry cap, a file-count limit', async () => {
    await beside(
      async ({ h }) => {
        const info = await h.supervisor.start(await h.spec('file-flood'));
        expect(info.isolation.disk).toMatchObject({ mechanism: 'sampled', maxFiles: 4096 });
        await startFlood(info);
        const failure = await waitFor(() => failureOf(h.events, info.id), 'QUOTA_DISK', 60_000);
        expect(failure.code).toBe('QUOTA_DISK');
        expect(failure.message).toMatch(/holds \d+ files; its limit is 4096 files/);
      },
      { sandbox: { diskImages: false } },
    );
  });

  it('stops many small files written fast with QUOTA_DISK, the space accounted', async () => {
    await beside(
      async ({ h }) => {
        const info = await h.supervisor.start(await h.spec('file-flood', { config: { MODE: 'small-fast' } }));
        await startFlood(info);
        const failure = await waitFor(() => failureOf(h.events, info.id), 'QUOTA_DISK', 60_000);
        expect(failure.code).toBe('QUOTA_DISK');
        const failed = h.events.find((e) => e.type === 'instance.failed' && e.instance.id === info.id)!;
        expect(failure.message).toMatch(/holds (\d+ MB|\d+ files); its limit is (16 MB|4096 files)/);
        expect(failed.instance.usage.diskMb >= 16 || (failed.instance.usage.diskFiles ?? 0) > 4096).toBe(
          true,
        );
      },
      { sandbox: { diskImages: false } },
    );
  });
});
