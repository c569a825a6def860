/**
 * Small tmpfs mounts for the disk-full tests: a real file system that really runs out of space.
 * Mounting needs root (as on the team's machines and in CI); where it is impossible the tests
 * that need one are reported as skipped, never as passed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function probe(): boolean {
  if (process.getuid?.() !== 0) return false;
  const dir = mkdtempSync(join(tmpdir(), 'px-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether this machine lets the tests mount a tmpfs (decided once, when the test file loads). */
export const canMountTmpfs = probe();

export interface SmallDisk {
  dir: string;
  /** Fills the disk until only about `leaveBytes` are free (0: completely full). */
  fill(leaveBytes?: number): Promise<void>;
  /** Gives back everything `fill` took. */
  free(): Promise<void>;
  available(): Promise<number>;
  unmount(): Promise<void>;
}

export async function mountSmallDisk(sizeMb: number): Promise<SmallDisk> {
  const dir = mkdtempSync(join(tmpdir(), 'px-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir]);
  const filler = join(dir, '.filler');
  const available = async () => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    available,
    async fill(leaveBytes = 0) {
      const handle = await open(filler, 'a');
      try {
        const chunk = Buffer.alloc(64 * 1024, 1);
        for (;;) {
          const room = (await available()) - leaveBytes;
          if (room <= 0) break;
          try {
            await handle.write(chunk, 0, Math.min(chunk.length, room));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw error;
          }
        }
      } finally {
        await handle.close();
      }
    },
    async free() {
      await rm(filler, { force: true });
    },
    async unmount() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
