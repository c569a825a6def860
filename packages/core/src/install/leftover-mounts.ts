/**
 * Plugin data volumes (ext4 images loop-mounted over `…/plugins/<p>/data`, runtime
 * sandbox/data-volume.ts) that a core killed with SIGKILL left mounted. At start, before crash
 * recovery, none of them belongs to a running instance of this core yet, so every mount under the
 * data dir's tenants folder is a leftover: detached (lazily, so a dying plugin process of the dead
 * core cannot make it fail), after which rolling back or uninstalling can remove the folder
 * (a mounted one answers EBUSY) and starting the plugin mounts its image again.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';

export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''))
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

export async function detachLeftoverMounts(tenantsDir: string, log: Logger): Promise<void> {
  for (const point of await mountsUnder(tenantsDir)) {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('umount', ['-l', point], { stdio: 'ignore' });
      child.once('error', () => resolve(-1));
      child.once('exit', resolve);
    });
    if (code === 0) log.warn({ dir: point }, 'detached a plugin data volume left mounted by a previous run');
    else
      log.warn({ dir: point, code }, 'could not detach a plugin data volume left mounted by a previous run');
  }
}
