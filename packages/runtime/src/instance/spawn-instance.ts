/**
 * Spawns an instance's process in its sandbox and holds the health gate: resolves once the plugin
 * answers its health path, rejects (after killing it) when it exits, breaches a quota or runs out
 * of time first. node plugins go through an IPC broker (core never parses their channel);
 * process-kind executables are spawned directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PluginRuntimeError } from '@powerx/protocol';
import { findNamespacedPid } from '../find-namespace-pid.ts';
import { probeHealth } from '../health-check.ts';
import { brokerBundle, runnerBundle } from '../runner-bundle.ts';
import { buildSpawnPlan, resolveInside, type SpawnPlan } from '../spawn-plan.ts';
import type { SupervisorContext } from './context.ts';
import { pickDeclared, pickDeclaredConfig, type Instance, type Startup } from './instance.ts';
import { onChildMessage } from './ipc-dispatch.ts';
import { startSampling } from './quota-sampler.ts';
import {
  nodeSandboxLibraries,
  prepareSandbox,
  processSocketDir,
  processSystemDirs,
  requireIsolation,
  sandboxOwner,
  seccompProgram,
  writeConfigFile,
} from './sandbox-resources.ts';

/** What a process that died of a full data volume says last (Node's and libc's wording). */
const ENOSPC_PATTERN = /ENOSPC|No space left on device/;
const OOM_PATTERN =
  /JavaScript heap out of memory|Fatal process out of memory|Array buffer allocation failed|Reached heap limit|ERR_BUFFER_OUT_OF_BOUNDS|Cannot allocate memory/;

async function planFor(ctx: SupervisorContext, inst: Instance): Promise<SpawnPlan> {
  const { spec } = inst;
  const kind = spec.manifest.runtime.kind;
  const opts = ctx.opts;
  const host = requireIsolation(opts);
  await prepareSandbox(inst, host, opts);
  const owner = sandboxOwner(host, opts);
  let configFile: string | undefined;
  let socketDir: string | undefined;
  if (kind === 'process') {
    socketDir = host.bwrap ? await processSocketDir(inst, owner) : undefined;
    if (!host.bwrap) await rm(inst.info.socketPath, { force: true });
    configFile = join(inst.instanceDir, 'config.json');
    const content = {
      config: pickDeclaredConfig(spec),
      secrets: pickDeclared(spec),
      logLevel: spec.logLevel,
    };
    await writeConfigFile(configFile, content, owner);
  }
  const runnerPath = kind === 'node' ? await runnerBundle(join(opts.runDir, 'runner')) : '';
  const plan = buildSpawnPlan({
    spec,
    nodePath: opts.nodePath,
    runnerPath,
    host,
    sandbox: opts.sandbox,
    libraries: kind === 'node' && host.bwrap ? nodeSandboxLibraries(opts.nodePath, host) : undefined,
    systemDirs: kind === 'process' && host.bwrap ? processSystemDirs() : undefined,
    cgroupDirs: inst.cgroup?.dirs,
    socketDir,
    socketPath: inst.info.socketPath,
    configFile,
  });
  const { cgroup, disk } = inst.info.isolation;
  inst.info.isolation = { ...plan.isolation, ...(cgroup ? { cgroup } : {}), ...(disk ? { disk } : {}) };
  return plan;
}

function spawnProcessKind(plan: SpawnPlan, seccompFile: string | undefined): ChildProcess {
  const seccomp = seccompFile ? openSync(seccompFile, 'r') : undefined;
  try {
    // fd 3 stays empty so the seccomp program lands on fd 4, as for node plugins.
    const extra = seccomp === undefined ? [] : (['ignore', seccomp] as const);
    return spawn(plan.command, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      stdio: ['ignore', 'pipe', 'pipe', ...extra],
    });
  } finally {
    if (seccomp !== undefined) closeSync(seccomp);
  }
}

/** Spawns the process and resolves once it passed the health gate. */
export async function spawnInstance(ctx: SupervisorContext, inst: Instance): Promise<void> {
  const { spec } = inst;
  const opts = ctx.opts;
  const kind = spec.manifest.runtime.kind;
  const { timeoutMs, path: healthPath } = spec.manifest.runtime.health;
  const deadline = performance.now() + timeoutMs;
  const plan = await planFor(ctx, inst);
  const seccompFile = plan.seccomp ? await seccompProgram(opts.runDir) : undefined;
  inst.memoryExhausted = false;
  inst.diskExhausted = false;
  inst.stderrTail = [];
  inst.accepting = false;
  inst.lastSample = undefined;
  inst.cpuOver = 0;
  inst.livenessFailures = 0;
  inst.pidDepth = plan.pidDepth;

  let runnerReady!: () => void;
  const ready = new Promise<void>((resolve) => (runnerReady = resolve));
  let failStartup!: (error: PluginRuntimeError) => void;
  const failed = new Promise<never>((_, reject) => (failStartup = reject));
  failed.catch(() => undefined);
  const startup: Startup = { runnerReady, fail: (e) => failStartup(e) };
  inst.startup = startup;

  inst.pluginExit = undefined;
  inst.pluginPidInNamespace = false;
  inst.violation = undefined;
  inst.info.pid = undefined;
  // node plugins: core never holds the plugin's IPC channel (a plugin can write anything to fd 3,
  // and Node would parse it here). A broker process owns it and relays checked messages; the
  // plugin's stdout/stderr still come straight to these pipes.
  const brokerPath = kind === 'node' ? await brokerBundle(join(opts.runDir, 'runner')) : '';
  const child = kind === 'node' ? ctx.brokers.take(brokerPath) : spawnProcessKind(plan, seccompFile);
  inst.child = child;
  if (kind === 'node') {
    const { command, args, env, cwd, pidDepth } = plan;
    const brokerPlan = {
      command,
      args,
      env,
      cwd,
      pidDepth,
      maxMessageBytes: opts.maxMessageBytes,
      seccompFile,
    };
    child.send({ t: 'broker.spawn', plan: brokerPlan }, () => undefined);
  } else inst.info.pid = child.pid;
  inst.logs.attach(child.stdout!, 'stdout');
  inst.logs.attach(child.stderr!, 'stderr', (line) => {
    if (OOM_PATTERN.test(line)) inst.memoryExhausted = true;
    if (ENOSPC_PATTERN.test(line)) inst.diskExhausted = true;
    inst.stderrTail.push(line.slice(0, 500));
    if (inst.stderrTail.length > 8) inst.stderrTail.shift();
  });
  child.on('error', (error) => {
    inst.logs.write('runtime', 'error', `process error: ${error.message}`);
    if (inst.startup === startup)
      startup.fail(new PluginRuntimeError('START_FAILED', { detail: error.message }));
    // A process that could not be spawned never emits 'exit'.
    if (child.pid === undefined) ctx.onExit(inst, child, null, null);
  });
  child.on('message', (message) => onChildMessage(ctx, inst, child, message));
  child.on('exit', (code, signal) => ctx.onExit(inst, child, code, signal));
  startSampling(ctx, inst);
  const iso = plan.isolation;
  const spawned = (pid: number | undefined, via: string) =>
    inst.logs.write(
      'runtime',
      'info',
      `spawned pid ${pid} (${iso.level}${iso.weak ? ', WEAK isolation' : `, uid ${iso.uid}`}${iso.seccomp ? ', seccomp' : ''}${inst.cgroup ? `, cgroup v${inst.cgroup.version}` : ''}${inst.volume ? `, disk ${inst.volume.kind}` : ''})${via}`,
      { isolation: inst.info.isolation },
    );
  if (kind === 'node') inst.onPluginSpawned = (pid) => spawned(pid, ` via IPC broker pid ${child.pid}`);
  else if (!plan.pidDepth) spawned(child.pid, '');
  else {
    // process kind in a PID namespace: quotas and stop signals need the executable itself
    // (find-namespace-pid.ts). Until found, info.pid is the spawned wrapper's pid.
    const alive = () => child.exitCode === null && child.signalCode === null;
    void findNamespacedPid(child.pid!, alive, plan.pidDepth).then((pid) => {
      if (pid === undefined || !alive() || inst.child !== child) return;
      inst.info.pid = pid;
      inst.pluginPidInNamespace = true;
      spawned(pid, ` via sandbox pid ${child.pid}`);
    });
  }

  // Timers of this start are cancelled once it settles, so none outlives it.
  const settled = new AbortController();
  const timeout = (phase: string) =>
    sleep(Math.max(0, deadline - performance.now()), undefined, { signal: settled.signal }).then(
      () => {
        throw new PluginRuntimeError(
          'HEALTH_TIMEOUT',
          { path: healthPath, timeoutMs },
          phase
            ? { message: `The plugin did not answer ${healthPath} within ${timeoutMs} ms (${phase})` }
            : {},
        );
      },
      () => new Promise<never>(() => undefined),
    );

  try {
    if (kind === 'node') {
      ctx.send(inst, {
        t: 'init',
        instanceId: inst.info.id,
        tenant: spec.tenant,
        pluginId: spec.pluginId,
        version: spec.version,
        entry: plan.entry,
        ...(spec.manifest.sandbox.seed
          ? { seedModule: resolveInside(plan.versionDir, spec.manifest.sandbox.seed) }
          : {}),
        dataDir: plan.dataDir,
        config: pickDeclaredConfig(spec),
        secrets: pickDeclared(spec),
        declaredSecrets: spec.manifest.config.secrets.map((s) => s.name),
        logLevel: spec.logLevel,
        maxMessageBytes: opts.maxMessageBytes,
      });
      await Promise.race([ready, failed, timeout('the runner did not finish onStart')]);
      inst.accepting = true;
    }
    inst.info.state = 'health_check';
    ctx.emitState(inst);
    const healthy = (async () => {
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0 || inst.child !== child) return false;
        const status = await probeHealth(inst.info.socketPath, healthPath, Math.min(left, 1000));
        if (status !== undefined && status >= 200 && status < 300) return true;
        await sleep(25);
      }
    })();
    if (!(await Promise.race([healthy, failed, timeout('')]))) await Promise.race([failed, timeout('')]);
    // Spawned only now, so the next broker does not compete with this start for the CPU.
    if (kind === 'node') ctx.brokers.refill(brokerPath);
  } catch (error) {
    inst.startup = undefined;
    inst.discarded = child;
    await ctx.kill(inst);
    throw error;
  } finally {
    settled.abort();
  }
  inst.startup = undefined;
}
