/**
 * The supervisor: one sandboxed OS process per started (tenant, plugin, version), its Unix socket,
 * health gate, restart budget, quotas, logs and RPC. Core creates one Supervisor and drives it
 * through `start` / `stop` / `runSeed`; everything it reports is in `InstanceInfo` and events.
 *
 * Life of an instance:
 *   start → starting (spawned) → health_check (runner ready, probing the health path) → ready
 *   ready → crash → starting (backoff) → … → ready, or failed CRASH_LOOP when the budget is spent
 *   ready → quota breach → failed QUOTA_* (killed, not restarted)
 *   stop → stopping (SIGTERM, grace, SIGKILL) → stopped (forgotten)
 * A failed instance keeps its InstanceInfo (with `failure`) until `stop` is called on it; its
 * process and socket are already gone.
 *
 * The parts live beside it in `instance/`: spawn and health gate (spawn-instance.ts), the sandbox's
 * host resources (sandbox-resources.ts), IPC (ipc-dispatch.ts), sampling (quota-sampler.ts), the
 * socket, the broker pool; the decisions are pure functions in `policy/`.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PluginRuntimeError, type ErrorCode } from '@powerx/protocol';
import type { InstanceFailure, InstanceInfo, ResourceUsage, StartSpec, SupervisorEvent } from './contract.ts';
import { runnerBundle } from './runner-bundle.ts';
import { resolveInside } from './spawn-plan.ts';
import { decideAfterCrash } from './policy/restart-budget.ts';
import type { ResolvedOptions, SupervisorContext } from './instance/context.ts';
import { killPid, snapshot, toFailure, type Instance } from './instance/instance.ts';
import { closeInstanceSocket, listenInstanceSocket } from './instance/instance-socket.ts';
import { releaseSandbox, requireIsolation } from './instance/sandbox-resources.ts';
import { spawnInstance } from './instance/spawn-instance.ts';
import { createInstance } from './instance/create-instance.ts';
import { seedInProcess } from './instance/seed.ts';
import { handleExit } from './instance/exit-handling.ts';
import { BrokerPool } from './instance/spare-broker.ts';
import { removeLeftoverCgroups } from './sandbox/cgroups.ts';
import { resolveOptions, type StartOptions, type SupervisorOptions } from './supervisor-options.ts';
import { probeHostIsolation } from './sandbox/host-probe.ts';

export type { StartPhase } from './instance/instance.ts';

const MAX_SOCKET_PATH = 107;

export class Supervisor {
  readonly #opts: ResolvedOptions;
  readonly #instances = new Map<string, Instance>();
  readonly #ctx: SupervisorContext;

  constructor(options: SupervisorOptions) {
    this.#opts = resolveOptions(options);
    this.#ctx = {
      opts: this.#opts,
      brokers: new BrokerPool(this.#opts.nodePath, this.#opts.runDir, this.#opts.prewarmBroker),
      send: (inst, message) => this.#send(inst, message),
      fail: (inst, code, params) => this.#fail(inst, code, params),
      emitState: (inst) => this.#emitState(inst),
      emit: (event) => this.#emit(event),
      signalPlugin: (inst, signal) => this.#signalPlugin(inst, signal),
      kill: (inst) => this.#kill(inst),
      onExit: (inst, child, code, signal) => this.#onExit(inst, child, code, signal),
    };
    // Build the runner bundle early; start() awaits it.
    runnerBundle(join(this.#opts.runDir, 'runner')).catch(() => undefined);
  }

  /**
   * Removes the empty plugin cgroups a killed supervisor on this run folder left behind (its
   * plugins exit when it dies, their cgroups stay). Call it before the first start.
   */
  async releaseLeftoverCgroups(): Promise<string[]> {
    const host = probeHostIsolation();
    return host.cgroup ? removeLeftoverCgroups(host.cgroup, this.#opts.runDir) : [];
  }

  get(id: string): InstanceInfo | undefined {
    const inst = this.#instances.get(id);
    return inst && snapshot(inst);
  }

  list(): InstanceInfo[] {
    return [...this.#instances.values()].map(snapshot);
  }

  usage(id: string): ResourceUsage {
    const inst = this.#instances.get(id);
    if (!inst) throw new PluginRuntimeError('NOT_FOUND', { what: `Instance ${id}` });
    return { ...inst.info.usage };
  }

  async start(input: StartSpec, options: StartOptions = {}): Promise<InstanceInfo> {
    const spec: StartSpec = {
      ...input,
      versionDir: resolve(input.versionDir),
      dataDir: resolve(input.dataDir),
    };
    const id = `i${randomBytes(6).toString('hex')}`;
    const kind = spec.manifest.runtime.kind;
    const inst = createInstance(id, spec, this.#opts, options.onPhase, (i, m) => this.#send(i, m));
    this.#instances.set(id, inst);
    try {
      this.#emitState(inst);
      const host = requireIsolation(this.#opts);
      // process kind in the sandbox: the executable makes its socket in a folder bound at /run/px.
      if (kind === 'process' && host.bwrap)
        inst.info.socketPath = join(this.#opts.runDir, 's', `${id}.d`, 'http.sock');
      if (Buffer.byteLength(inst.info.socketPath) > MAX_SOCKET_PATH) {
        throw new PluginRuntimeError('START_FAILED', {
          detail: `the socket path ${inst.info.socketPath} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter runDir`,
        });
      }
      if (kind !== 'node' && kind !== 'process')
        throw new PluginRuntimeError('MANIFEST_RUNTIME_UNKNOWN', { kind });
      if (!resolveInside(spec.versionDir, spec.manifest.runtime.entry)) {
        throw new PluginRuntimeError('START_FAILED', {
          detail: `runtime.entry "${spec.manifest.runtime.entry}" escapes the version folder`,
        });
      }
      await mkdir(join(this.#opts.runDir, 's'), { recursive: true, mode: 0o700 });
      await mkdir(inst.instanceDir, { recursive: true, mode: 0o700 });
      if (kind === 'node') inst.server = await listenInstanceSocket(inst);
      await spawnInstance(this.#ctx, inst);
      this.#setReady(inst);
      return snapshot(inst);
    } catch (error) {
      const failure = toFailure(error);
      inst.logs.write('runtime', 'error', `start failed: ${failure.code}: ${failure.message}`, {
        code: failure.code,
      });
      await this.#release(inst);
      inst.info.state = 'failed';
      inst.info.failure = failure;
      this.#emitState(inst);
      this.#emit({ type: 'instance.failed', instance: snapshot(inst), failure });
      this.#instances.delete(id);
      inst.logs.close();
      throw error instanceof PluginRuntimeError
        ? error
        : new PluginRuntimeError(
            failure.code,
            {},
            { message: failure.message, hint: failure.hint, cause: error },
          );
    } finally {
      inst.onPhase = undefined;
    }
  }

  async stop(id: string, options: { graceMs?: number; reason?: string } = {}): Promise<void> {
    const inst = this.#instances.get(id);
    if (!inst) return;
    if (inst.stopRequested) {
      await this.#waitExit(inst, Number.POSITIVE_INFINITY);
      return;
    }
    inst.stopRequested = true;
    clearTimeout(inst.restartTimer);
    const wasFailed = inst.info.state === 'failed';
    if (!wasFailed) {
      inst.info.state = 'stopping';
      this.#emitState(inst);
    }
    inst.logs.write('runtime', 'info', `stopping${options.reason ? `: ${options.reason}` : ''}`);
    // No new connections; those already handed over finish within the grace period.
    inst.accepting = false;
    closeInstanceSocket(inst);
    await this.#terminate(inst, options.graceMs ?? this.#opts.stopGraceMs);
    await this.#release(inst);
    if (!wasFailed) {
      inst.info.state = 'stopped';
      inst.info.pid = undefined;
      this.#emitState(inst);
    }
    inst.logs.write('runtime', 'info', 'stopped');
    inst.logs.close();
    this.#instances.delete(id);
  }

  async stopAll(options: { graceMs?: number; reason?: string } = {}): Promise<void> {
    this.#ctx.brokers.close();
    await Promise.all([...this.#instances.keys()].map((id) => this.stop(id, options)));
  }

  /** Runs the plugin's seed hook (sandbox.seed module, or definePlugin's `seed`) in the plugin process. */
  async runSeed(instanceId: string, timeoutMs = 60_000): Promise<void> {
    const inst = this.#instances.get(instanceId);
    if (!inst) throw new PluginRuntimeError('NOT_FOUND', { what: `Instance ${instanceId}` });
    if (inst.info.state !== 'ready' || !inst.child)
      throw new PluginRuntimeError('INSTANCE_UNAVAILABLE', { state: inst.info.state });
    if (inst.spec.manifest.runtime.kind !== 'node') {
      if (inst.spec.manifest.sandbox.seed) {
        throw new PluginRuntimeError('SEED_FAILED', {
          detail:
            'runtime.kind process plugins cannot run a sandbox.seed hook; seed through the plugin’s own HTTP API',
        });
      }
      return;
    }
    await seedInProcess(inst, timeoutMs, (i, m) => this.#send(i, m));
  }

  #setReady(inst: Instance): void {
    inst.info.state = 'ready';
    inst.logs.write('runtime', 'info', 'ready');
    this.#emitState(inst);
  }

  #onExit(inst: Instance, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    handleExit(
      this.#ctx,
      inst,
      child,
      { code, signal },
      {
        dropSubscriptions: (i) => this.#dropSubscriptions(i),
        crashed: (i, how) => this.#crashed(i, how),
      },
    );
  }

  #crashed(inst: Instance, how: string): void {
    const { restartBudget, restartBackoffMs } = this.#opts;
    const decision = decideAfterCrash(inst.crashes, performance.now(), restartBudget, restartBackoffMs);
    inst.crashes = decision.crashes;
    if (decision.action === 'give-up') {
      this.#fail(inst, 'CRASH_LOOP', {
        count: decision.crashes.length,
        windowSec: Math.round(restartBudget.windowMs / 1000),
      });
      return;
    }
    const delay = decision.delayMs;
    inst.info.state = 'starting';
    inst.logs.write(
      'runtime',
      'warn',
      `crashed (${how}); restart ${decision.crashes.length}/${restartBudget.crashes - 1} in ${delay} ms`,
      { delayMs: delay },
    );
    this.#emitState(inst);
    inst.restartTimer = setTimeout(() => {
      inst.restartTimer = undefined;
      if (inst.stopRequested || inst.info.state === 'failed') return;
      inst.info.restarts++;
      spawnInstance(this.#ctx, inst).then(
        () => {
          if (!inst.stopRequested && inst.info.state !== 'failed') this.#setReady(inst);
        },
        (error: unknown) => {
          if (inst.stopRequested || inst.info.state === 'failed') return;
          const failure = toFailure(error);
          if (failure.code.startsWith('QUOTA_')) this.#fail(inst, failure.code, failure);
          else this.#crashed(inst, `restart failed: ${failure.message}`);
        },
      );
    }, delay);
  }

  /** Marks the instance failed with a reason and releases its process and socket. */
  #fail(inst: Instance, code: ErrorCode, params: Record<string, unknown> | InstanceFailure): void {
    if (inst.info.state === 'failed' || inst.stopRequested) return;
    const failure =
      'hint' in params && 'code' in params
        ? (params as InstanceFailure)
        : toFailure(new PluginRuntimeError(code, params));
    if (inst.startup) {
      // Still starting: the start (or restart) path reports it and cleans up.
      inst.startup.fail(
        new PluginRuntimeError(failure.code, {}, { message: failure.message, hint: failure.hint }),
      );
      return;
    }
    inst.info.state = 'failed';
    inst.info.failure = failure;
    inst.accepting = false;
    clearTimeout(inst.restartTimer);
    inst.logs.write('runtime', 'error', `failed: ${failure.code}: ${failure.message}`, {
      code: failure.code,
    });
    this.#emitState(inst);
    this.#emit({ type: 'instance.failed', instance: snapshot(inst), failure });
    void (async () => {
      await this.#kill(inst);
      await this.#release(inst);
    })();
  }

  async #terminate(inst: Instance, graceMs: number): Promise<void> {
    const child = inst.child;
    if (!child) return;
    this.#signalPlugin(inst, 'SIGTERM');
    await this.#waitExit(inst, graceMs);
    if (inst.child !== child) return;
    inst.logs.write('runtime', 'warn', `did not exit within ${graceMs} ms of SIGTERM; sending SIGKILL`, {
      graceMs,
    });
    await this.#kill(inst);
  }

  async #kill(inst: Instance): Promise<void> {
    const child = inst.child;
    if (!child) return;
    this.#signalPlugin(inst, 'SIGKILL');
    // node plugins: the broker reaps the plugin, reports and exits; kill it too if it does not.
    if (inst.spec.manifest.runtime.kind === 'node') {
      await this.#waitExit(inst, 1000);
      if (inst.child === child) child.kill('SIGKILL');
    }
    await this.#waitExit(inst, 5000);
  }

  /**
   * Signals the plugin process itself. For node plugins that is the pid the broker reported (the
   * broker is only the parent); before that report the signal goes to the broker, which forwards
   * SIGTERM (or dies of SIGKILL, and a runner without its IPC channel exits).
   */
  #signalPlugin(inst: Instance, signal: NodeJS.Signals): void {
    const child = inst.child;
    if (!child) return;
    if (inst.spec.manifest.runtime.kind === 'node' && inst.info.pid !== undefined && !inst.pluginExit)
      killPid(inst.info.pid, signal);
    // process kind in a PID namespace: signal the executable itself; its sandbox wrappers exit with
    // its status (SIGKILL to a wrapper would end the namespace too, but report before it is gone).
    else if (inst.pluginPidInNamespace && inst.info.pid !== undefined) killPid(inst.info.pid, signal);
    else if (inst.spec.manifest.runtime.kind !== 'node' || !inst.pluginExit) child.kill(signal);
  }

  #waitExit(inst: Instance, ms: number): Promise<void> {
    if (!inst.child) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
      inst.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Closes the socket, drops subscriptions, returns the sandbox's host resources and removes the instance's files. */
  async #release(inst: Instance): Promise<void> {
    clearInterval(inst.quotaTimer);
    clearTimeout(inst.restartTimer);
    this.#dropSubscriptions(inst);
    closeInstanceSocket(inst);
    await releaseSandbox(inst);
    const socket = inst.info.socketPath;
    await rm(socket.endsWith('http.sock') ? join(socket, '..') : socket, { recursive: true, force: true });
    await rm(inst.instanceDir, { recursive: true, force: true });
    inst.info.logsDropped = inst.logs.dropped;
  }

  #dropSubscriptions(inst: Instance): void {
    for (const unsubscribe of inst.scope.subscriptions.values()) {
      try {
        unsubscribe();
      } catch {
        // core's bus failing to unsubscribe must not stop the release
      }
    }
    inst.scope.subscriptions.clear();
  }

  #send(inst: Instance, message: object): void {
    const child = inst.child;
    if (!child?.connected) return;
    child.send(message, (error) => {
      if (error) inst.logs.write('runtime', 'debug', `IPC send failed: ${error.message}`);
    });
  }

  #emitState(inst: Instance): void {
    const instance = snapshot(inst);
    const phase = instance.state;
    if (
      inst.onPhase &&
      (phase === 'starting' || phase === 'health_check' || phase === 'ready' || phase === 'failed')
    ) {
      try {
        inst.onPhase(phase, instance);
      } catch {
        // a listener's bug must not break the start
      }
    }
    this.#emit({ type: 'instance.state', instance });
  }

  #emit(event: SupervisorEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch {
      // a listener's bug must not break the supervisor
    }
  }
}
