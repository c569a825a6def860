/**
 * Core as a real child process (`node packages/core/src/main.ts` with PX_* variables), for tests
 * that kill it with SIGKILL and start it again on the same data folder, and the plugin processes
 * such a core runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Api, repoRoot } from './core-kit.ts';

export interface CoreProcess {
  child: ChildProcess;
  url: string;
  api: Api;
  /** Everything core wrote to stdout and stderr so far. */
  out: string[];
  /** SIGKILL, as a crash would; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, a clean stop; resolves once it is gone. */
  stop(): Promise<void>;
}

export async function startCoreProcess(opts: {
  dataDir: string;
  /** Platform keys folder: packages signed with these install without a registered key. */
  platformKeysDir: string;
  home: string;
  env?: Record<string, string>;
}): Promise<CoreProcess> {
  const proc = spawn(process.execPath, [join(repoRoot, 'packages/core/src/main.ts')], {
    env: {
      ...process.env,
      PX_DATA_DIR: opts.dataDir,
      PX_PORT: '0',
      PX_PLATFORM_KEYS_DIR: opts.platformKeysDir,
      PX_LOG_LEVEL: 'debug',
      HOME: opts.home,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      out.push(chunk.toString());
      const m = /listening on (http:\/\/\S+)/.exec(buffer);
      if (m) resolve(m[1]);
    });
    proc.stderr!.on('data', (chunk: Buffer) => out.push(chunk.toString()));
    proc.once('exit', (code) => reject(new Error(`core exited with ${code}: ${out.join('')}`)));
  });
  const token = (await readFile(join(opts.dataDir, 'admin-token'), 'utf8')).trim();
  const end = async (signal: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };
  return {
    child: proc,
    url,
    api: new Api(url, token),
    out,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

async function parentPid(pid: string): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '0';
}

/** Plugin processes of this data dir (their permission flags name its folders); with `brokers`, their IPC brokers too. */
export async function pluginProcesses(dataDir: string, brokers = false): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!brokers && /broker-[0-9a-f]+\.cjs/.test(cmdline)) continue;
    // The PID-namespace wrappers (unshare and sh, named px-pidns) die with the plugin; count the plugin.
    if (cmdline.includes('px-pidns')) continue;
    // A sandboxed plugin shows as its bubblewrap (whose bind arguments name the data folder) and
    // bwrap's init, a fork with the same command line: count the sandbox once.
    if (cmdline === (await readFile(`/proc/${await parentPid(pid)}/cmdline`, 'utf8').catch(() => '')))
      continue;
    if (cmdline.includes(dataDir) && !cmdline.includes('main.ts')) pids.push(Number(pid));
  }
  return pids;
}
