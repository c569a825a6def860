/**
 * Figures of the plugin sandbox for the runtime bench: the memory an idle instance really costs
 * (its plugin process, the sandbox wrappers and its IPC broker, by PSS), and the worst overshoot
 * of a disk quota that can only be sampled (no loop devices), measured against hostile writers.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeManifest, type ManifestSource } from '@powerx/protocol';
import { Supervisor, type HostServices, type SupervisorEvent } from '@powerx/runtime';
import type { BenchContext } from '../run.ts';

async function pssMb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0) / 1024;
}

async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
}

/** PSS of the plugin, of every sandbox wrapper above it, and of its IPC broker. */
export async function instancePss(
  pluginPid: number,
): Promise<{ plugin: number; wrappers: number; broker: number }> {
  const plugin = await pssMb(pluginPid);
  let wrappers = 0;
  let pid = await parentOf(pluginPid);
  for (let i = 0; i < 6 && pid > 1; i++, pid = await parentOf(pid)) {
    if ((await cmdline(pid)).includes('/runner/broker-'))
      return { plugin, wrappers, broker: await pssMb(pid) };
    wrappers += await pssMb(pid);
  }
  return { plugin, wrappers, broker: 0 };
}

const nullHost = {} as HostServices;

/**
 * Runs the file-flood fixture (small files fast; 100,001 empty files then large ones) against a
 * sampled 16 MB quota (default sampling, 1 s) and measures, after QUOTA_DISK, what the folder
 * really holds: the overshoot is what the sampler let through before it stopped the plugin.
 */
export async function sampledDiskOvershoot(
  ctx: BenchContext,
  runs = 2,
): Promise<{ worstMb: number; worstFiles: number; lines: string[] }> {
  const fixture = join(ctx.repoRoot, 'packages/runtime/fixtures/plugins/file-flood');
  const manifest = normalizeManifest(
    JSON.parse(await readFile(join(fixture, 'manifest.json'), 'utf8')) as ManifestSource,
  );
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor({
    runDir: join(ctx.workDir, 'run-disk'),
    logSink: { write: () => undefined },
    host: nullHost,
    onEvent: (e) => events.push(e),
    sandbox: { diskImages: false },
  });
  const lines: string[] = [];
  let worstMb = 0;
  let worstFiles = 0;
  try {
    for (let i = 0; i < runs; i++) {
      for (const mode of ['small-fast', 'empty-then-large']) {
        const dataDir = join(ctx.workDir, 'disk', `${mode}-${i}`);
        const info = await supervisor.start({
          tenant: 'bench',
          pluginId: manifest.id,
          version: manifest.version,
          versionDir: fixture,
          dataDir,
          manifest,
          config: { MODE: mode },
          secrets: {},
          logLevel: 'info',
        });
        const { request } = await import('node:http');
        await new Promise((resolve) =>
          request({ socketPath: info.socketPath, path: '/start' }, (res) =>
            res.resume().on('end', resolve),
          ).end(),
        );
        const t0 = Date.now();
        while (!events.some((e) => e.type === 'instance.failed' && e.instance.id === info.id)) {
          if (Date.now() - t0 > 120_000) throw new Error(`no QUOTA_DISK for ${mode}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await supervisor.stop(info.id, { graceMs: 500 });
        const bytes = Number(execFileSync('du', ['-s', '-B1', dataDir], { encoding: 'utf8' }).split('\t')[0]);
        const files = Number(execFileSync('sh', ['-c', `find "${dataDir}" | wc -l`], { encoding: 'utf8' }));
        const overMb = bytes / 2 ** 20 - manifest.resources.diskMb;
        worstMb = Math.max(worstMb, overMb);
        worstFiles = Math.max(worstFiles, files - 4096);
        lines.push(
          `${mode}: stopped holding ${(bytes / 2 ** 20).toFixed(1)} MB in ${files} entries (quota ${manifest.resources.diskMb} MB / 4096 files)`,
        );
      }
    }
  } finally {
    await supervisor.stopAll({ graceMs: 500 });
  }
  return { worstMb, worstFiles, lines };
}
