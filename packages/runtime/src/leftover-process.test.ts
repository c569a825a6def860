import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killLeftoverPlugin } from './leftover-process.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function sleeper(runDir: string) {
  const script = join(runDir, 'runner.sh');
  await writeFile(script, 'sleep 30\n');
  const child = spawn('sh', [script], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
  return { child, exited };
}

describe('killing a plugin process a crashed core left behind', () => {
  it('kills a process started from the run folder', async () => {
    dir = await mkdtemp(join(tmpdir(), 'px-leftover-'));
    const { child, exited } = await sleeper(dir);
    expect(killLeftoverPlugin(child.pid!, dir)).toBe(true);
    expect(await exited).toBe('SIGKILL');
  });

  it('kills a process whose sandbox wrapper was started from the run folder', async () => {
    dir = await mkdtemp(join(tmpdir(), 'px-leftover-'));
    const script = join(dir, 'wrapper.sh');
    // The wrapper names the run folder; its child (the "plugin") does not.
    await writeFile(script, 'sh -c "sleep 30; true" & echo $! ; wait\n');
    const wrapper = spawn('sh', [script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(
      await new Promise<string>((resolve) => wrapper.stdout.once('data', (c: Buffer) => resolve(String(c)))),
    );
    try {
      expect(killLeftoverPlugin(pid, dir)).toBe(true);
      await new Promise((r) => wrapper.once('exit', r));
    } finally {
      wrapper.kill('SIGKILL');
    }
  });

  it('leaves a process alone that was not started from the run folder (a recycled pid)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'px-leftover-'));
    const { child, exited } = await sleeper(dir);
    try {
      expect(killLeftoverPlugin(child.pid!, join(dir, 'other-run'))).toBe(false);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('answers false for a pid that is gone', () => {
    expect(killLeftoverPlugin(2 ** 22 + 7, '/nowhere')).toBe(false);
  });
});
