/**
 * What idle instances cost in memory: RSS, private memory and PSS each (with the plugin, its
 * sandbox wrappers and its IPC broker apart), what they take from MemAvailable, and how many fit
 * on this machine; beside two floors, a bare idle Node process with an IPC channel and the
 * smallest process that can do an instance's job.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import type { InstanceInfo, StartSpec, Supervisor } from '@powerx/runtime';
import type { BenchContext, BenchResult } from '../run.ts';
import { figure, memAvailableMb, median, privateMb, procMb } from './figures.ts';
import { instancePss } from './sandbox-figures.ts';

const IDLE_INSTANCES = 30;

/** RSS of an idle bare Node process holding an IPC channel: the floor any instance sits on. */
async function bareIdleRssMb(): Promise<{ rss: number; priv: number }> {
  const child = spawn(process.execPath, ['-e', "process.on('message', () => {}); process.send('up')"], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: {},
  });
  await once(child, 'message');
  await new Promise((r) => setTimeout(r, 2000));
  const rss = await procMb(child.pid!, 'VmRSS');
  const priv = await privateMb(child.pid!);
  child.kill();
  await once(child, 'exit');
  return { rss, priv };
}

/**
 * RSS of the smallest process that can do an instance's job: a `node:http` server fed sockets
 * over IPC (as the runner is), after serving one request. Informative second floor: what the
 * sandbox, the runner and the SDK add on top of "node serving HTTP" is the gap to this one.
 */
async function minimalHttpRssMb(dir: string): Promise<number> {
  const code = `const s = require('node:http').createServer((q, r) => r.end('ok')); process.on('message', (m, h) => { if (m === 'conn') { s.emit('connection', h); h.resume(); } }); process.send('up');`;
  const child = spawn(process.execPath, ['-e', code], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: {},
  });
  await once(child, 'message');
  const socketPath = join(dir, 'minimal.sock');
  const server = net.createServer({ pauseOnConnect: true }, (socket) =>
    child.send('conn', socket, { keepOpen: false }),
  );
  server.listen(socketPath);
  await once(server, 'listening');
  await new Promise<void>((resolve, reject) =>
    http
      .get({ socketPath, path: '/', agent: false }, (res) => res.resume().on('end', resolve))
      .on('error', reject),
  );
  await new Promise((r) => setTimeout(r, 2000));
  const rss = await procMb(child.pid!, 'VmRSS');
  server.close();
  child.kill();
  await once(child, 'exit');
  return rss;
}

/** Starts the idle instances, measures them, and leaves them running (the caller stops them). */
export async function measureIdleMemory(
  ctx: BenchContext,
  supervisor: Supervisor,
  spec: () => StartSpec,
): Promise<{ results: BenchResult[]; idle: InstanceInfo[] }> {
  const availableBefore = await memAvailableMb();
  const idle: InstanceInfo[] = [];
  for (let i = 0; i < IDLE_INSTANCES; i++) idle.push(await supervisor.start(spec()));
  await new Promise((r) => setTimeout(r, 2000)); // let start-up garbage be collected
  const rss = await Promise.all(idle.map((i) => procMb(i.pid!, 'VmRSS')));
  const priv = await Promise.all(idle.map((i) => privateMb(i.pid!)));
  const pss = await Promise.all(idle.map((i) => procMb(i.pid!, 'Pss')));
  const trees = await Promise.all(idle.map((i) => instancePss(i.pid!)));
  const availableAfter = await memAvailableMb();
  const rssMb = median(rss);
  const pssMb = pss.reduce((a, b) => a + b, 0) / pss.length;
  // MemAvailable moves with everything else running on the machine, so the extrapolation uses
  // PSS (each instance's private pages plus its share of the pages all instances share), which
  // sums to what the instances take together.
  const perInstanceMb = (availableBefore - availableAfter) / IDLE_INSTANCES;
  const fit = Math.floor(availableBefore / pssMb);
  ctx.log(
    `idle RSS median ${rssMb.toFixed(1)} MB, mean PSS ${pssMb.toFixed(1)} MB; MemAvailable fell ${(availableBefore - availableAfter).toFixed(0)} MB for ${IDLE_INSTANCES} instances = ${perInstanceMb.toFixed(1)} MB each`,
  );
  ctx.log(
    `instances that fit: MemAvailable before (${availableBefore.toFixed(0)} MB) / mean PSS ${pssMb.toFixed(1)} MB = ${fit} (memory only; PIDs and file descriptors are far from binding at that count)`,
  );
  const floor = await bareIdleRssMb();
  const privMb = median(priv);
  const minimalRss = await minimalHttpRssMb(ctx.workDir);
  ctx.log(
    `bare idle node with an IPC channel: RSS ${floor.rss.toFixed(1)} MB, private ${floor.priv.toFixed(1)} MB; instance private (RssAnon+RssShmem) median ${privMb.toFixed(1)} MB`,
  );
  ctx.log(
    `minimal node:http server fed sockets over IPC, after one request: RSS ${minimalRss.toFixed(1)} MB`,
  );
  const mean = (f: (t: (typeof trees)[number]) => number) =>
    trees.reduce((a, t) => a + f(t), 0) / trees.length;
  ctx.log(
    `PSS per idle instance: plugin ${mean((t) => t.plugin).toFixed(1)} MB + sandbox wrappers ${mean((t) => t.wrappers).toFixed(1)} MB + IPC broker ${mean((t) => t.broker).toFixed(1)} MB`,
  );
  const results = [
    figure('RSS per idle instance (median; bare idle node as floor)', rssMb, 'MB', {
      floor: floor.rss,
      goal: '≤ 45 MB',
      met: rssMb <= 45,
    }),
    figure('RSS per idle instance (minimal node:http server over IPC as floor)', rssMb, 'MB', {
      floor: minimalRss,
    }),
    figure('private memory per idle instance (RssAnon+RssShmem)', privMb, 'MB', {
      floor: floor.priv,
      goal: '≤ 45 MB',
      met: privMb <= 45,
    }),
    figure('PSS per idle instance (mean, shared pages split)', pssMb, 'MB'),
    figure(
      'PSS per idle instance: plugin + sandbox wrappers + IPC broker (mean)',
      mean((t) => t.plugin + t.wrappers + t.broker),
      'MB',
    ),
    figure('MemAvailable drop per idle instance (noisy on a shared machine)', perInstanceMb, 'MB'),
    figure(`idle instances that fit (MemAvailable / mean PSS of ${IDLE_INSTANCES})`, fit, 'instances'),
  ];
  return { results, idle };
}
