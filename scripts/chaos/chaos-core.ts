/**
 * A real core as a child process (`packages/core/src/main.ts`), the way an operator runs it, so
 * the harness can kill -9 it at any moment and start it again on the same data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder } from '../../packages/core/src/install/leftover-mounts.ts';

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
 * Plugin processes of this data folder: the outermost process of each plugin (its command line
 * names the data folder's paths), so a sandbox wrapper and the plugin inside it count once. The
 * per-instance IPC brokers are counted only with `all`.
 */
export async function pluginProcesses(dataDir: string, all = false): Promise<number[]> {
  const found = new Map<number, number>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(dataDir) || cmdline.includes('main.ts')) continue;
    if (!all && /broker-[0-9a-f]+\.cjs/.test(cmdline)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    found.set(Number(pid), ppid);
  }
  return [...found].filter(([, ppid]) => all || !found.has(ppid)).map(([pid]) => pid);
}

/** Plugin data volumes (loop mounts) a killed core left under `dir`: unmounted before the folder goes. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir))
    await new Promise<void>((resolve) =>
      spawn('umount', ['-l', point], { stdio: 'ignore' }).once('exit', () => resolve()),
    );
}

/** Core's warnings and errors since `from` (its JSON log lines), for the report of a failed trial. */
export function coreComplaints(core: ChaosCore, from = 0): string[] {
  return complaintsIn(core.output.slice(from).join(''));
}

/** The warnings and errors among core's JSON log lines in `text`, one short sentence each. */
export function complaintsIn(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /"level":(40|50|60)/.test(l))
    .map((l) => {
      try {
        const j = JSON.parse(l) as {
          msg?: string;
          code?: string;
          detail?: string;
          err?: { message?: string };
        };
        const why = j.err?.message ?? j.detail;
        return `${j.msg ?? ''}${j.code ? ` (${j.code})` : ''}${why ? `: ${why.slice(0, 300)}` : ''}`;
      } catch {
        return l.slice(0, 200);
      }
    });
}
