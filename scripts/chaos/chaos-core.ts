/**
 * A real core as a child process (`packages/core/src/main.ts`), the way an operator runs it, so
 * the harness can kill -9 it at any moment and start it again on the same data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface ChaosCore {
  url: string;
  token: string;
  proc: ChildProcess;
  output: string[];
}

export async function startChaosCore(opts: {
  repoRoot: string;
  dataDir: string;
  keysDir: string;
  home: string;
}): Promise<ChaosCore> {
  const proc = spawn(process.execPath, [join(opts.repoRoot, 'packages/core/src/main.ts')], {
    env: {
      ...process.env,
      PX_DATA_DIR: opts.dataDir,
      PX_PORT: '0',
      PX_PLATFORM_KEYS_DIR: opts.keysDir,
      PX_PLUGIN_DEV_MODE: '1',
      PX_LOG_LEVEL: 'warn',
      HOME: opts.home,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`core did not start in 60 s: ${output.join('')}`)),
      60_000,
    );
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      output.push(chunk.toString());
      const m = /listening on (http:\/\/\S+)/.exec(buffer);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`core exited with ${code}: ${output.join('')}`));
    });
  });
  const token = (await readFile(join(opts.dataDir, 'admin-token'), 'utf8')).trim();
  return { url, token, proc, output };
}

export async function killCore(core: ChaosCore, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (core.proc.exitCode !== null || core.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => core.proc.once('exit', resolve));
  core.proc.kill(signal);
  await exited;
}

/**
 * Plugin processes of this data folder (their command lines name its folders). The PID-namespace
 * wrappers (px-pidns) and the per-instance IPC brokers are counted only with `all`.
 */
export async function pluginProcesses(dataDir: string, all = false): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(dataDir) || cmdline.includes('main.ts')) continue;
    if (!all && (/broker-[0-9a-f]+\.cjs/.test(cmdline) || cmdline.includes('px-pidns'))) continue;
    // A sandboxed plugin shows as its bubblewrap (whose bind arguments name the data folder) and
    // bwrap's init, a fork with the same command line: count the sandbox once.
    if (!all) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      if ((await readFile(`/proc/${parent}/cmdline`, 'utf8').catch(() => '')) === cmdline) continue;
    }
    pids.push(Number(pid));
  }
  return pids;
}
