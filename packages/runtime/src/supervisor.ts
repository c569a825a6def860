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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PluginRuntimeError,
  RPC_MAX_MESSAGE_BYTES,
  type ErrorCode,
  type RunnerToSupervisor,
} from '@powerx/protocol';
import type {
  HostServices,
  InstanceFailure,
  InstanceInfo,
  LogSink,
  ResourceUsage,
  StartSpec,
  SupervisorEvent,
} from './contract.ts';
import { probeHostIsolation } from './isolation-probe.ts';
import { exitFromShell, findNamespacedPid } from './find-namespace-pid.ts';
import { constants as osConstants } from 'node:os';
import { DEFAULT_LOG_RATE, LogCapture, type LogRate } from './log-capture.ts';
import { cpuPercent, folderBytes, sampleProcess, type ProcSample } from './proc-stats.ts';
import { probeHealth } from './health-check.ts';
import { admitMessage, messageBytes } from './rpc-gate.ts';
import { errorBody, serveCall, type CallScope } from './rpc-host.ts';
import { brokerBundle, runnerBundle } from './runner-bundle.ts';
import { buildSpawnPlan, resolveInside } from './spawn-plan.ts';

export interface SupervisorOptions {
  /** Sockets, the runner bundle and per-instance files live here. Keep the path short (Unix socket paths are limited to 107 bytes). */
  runDir: string;
  logSink: LogSink;
  host: HostServices;
  onEvent?: (event: SupervisorEvent) => void;
  /** How often RSS and CPU are sampled (ms). Default 1000. */
  quotaSampleMs?: number;
  /** Crashes allowed within the window before the instance fails with CRASH_LOOP. Default 3 in 60 s. */
  restartBudget?: { crashes: number; windowMs: number };
  /** First restart delay; doubles per crash in the window, at most 10 s. Default 500 ms. */
  restartBackoffMs?: number;
  /** Consecutive samples above resources.cpuPercent before QUOTA_CPU. Default 10. */
  cpuBreachSamples?: number;
  /** Measure the data folder every N samples. Default 5. */
  diskSampleEvery?: number;
  /** Probe the health path of a ready instance every N samples; 3 failures in a row count as a crash. Default 5. */
  livenessEvery?: number;
  /** Per-instance log budget. Default 200 lines/s, burst 1000. */
  logRate?: LogRate;
  /** IPC message cap in bytes, both directions. Default RPC_MAX_MESSAGE_BYTES (1 MiB). */
  maxMessageBytes?: number;
  /** Node binary for node plugins. Default: the one running the supervisor. */
  nodePath?: string;
  /** Default grace of `stop` (ms). Default 5000. */
  stopGraceMs?: number;
  /**
   * Keep one idle IPC broker spawned ahead, so a start spawns only the plugin process (saves one
   * Node start-up, ~30 ms, per cold start; costs one idle broker process). Default true.
   */
  prewarmBroker?: boolean;
}

interface Startup {
  runnerReady(): void;
  fail(error: PluginRuntimeError): void;
  fatalMessage?: string;
}

interface Instance {
  info: InstanceInfo;
  spec: StartSpec;
  instanceDir: string;
  server?: net.Server;
  child?: ChildProcess;
  /** The runner said ready: connections are handed over (health checks included). */
  accepting: boolean;
  startup?: Startup;
  logs: LogCapture;
  crashes: number[];
  quotaTimer?: NodeJS.Timeout;
  lastSample?: ProcSample;
  cpuOver: number;
  samples: number;
  stopRequested: boolean;
  exitWaiters: Array<() => void>;
  memoryExhausted: boolean;
  stderrTail: string[];
  seeds: Map<number, { resolve(): void; reject(error: Error): void }>;
  nextSeedId: number;
  scope: CallScope;
  restartTimer?: NodeJS.Timeout;
  /** A child we are killing because its start failed: its exit is not a crash. */
  discarded?: ChildProcess;
  rpcInFlight: number;
  refusedMessages: number;
  livenessFailures: number;
  probing: boolean;
  /** Killed by us after failed liveness probes: reported as such in the crash line. */
  hung?: boolean;
  /** node plugins: how the plugin process ended, as its IPC broker reported it. */
  pluginExit?: { code: number | null; signal: NodeJS.Signals | null };
  /** process kind: info.pid is the executable inside its PID namespace, not the spawned unshare. */
  pluginPidInNamespace?: boolean;
  /** node plugins: the broker ended the instance for unparseable or unbounded IPC output. */
  violation?: PluginRuntimeError;
  onPluginSpawned?: (pid: number) => void;
}

/**
 * The IPC broker's own limits: a small heap, so an endless line the plugin writes kills only the
 * broker (it normally catches that much earlier, see broker.ts), and a minimal environment.
 * `--jitless --single-threaded`: a relay needs no optimizing compiler or GC threads; measured idle
 * private memory 17.2 → 13.2 MB, with no change in cold start.
 */
const BROKER_FLAGS = ['--max-old-space-size=48', '--max-semi-space-size=1', '--jitless', '--single-threaded'];
const BROKER_ENV = { LANG: 'C.UTF-8', TZ: 'UTC' };

const MAX_RPC_IN_FLIGHT = 256;
const OOM_PATTERN =
  /JavaScript heap out of memory|Fatal process out of memory|Array buffer allocation failed|Reached heap limit|ERR_BUFFER_OUT_OF_BOUNDS|Cannot allocate memory/;
const MAX_SOCKET_PATH = 107;

export class Supervisor {
  readonly #opts: Required<Omit<SupervisorOptions, 'onEvent'>> & Pick<SupervisorOptions, 'onEvent'>;
  readonly #instances = new Map<string, Instance>();
  /** An idle broker waiting for the next node plugin start (see `prewarmBroker`). */
  #spareBroker?: ChildProcess;

  constructor(options: SupervisorOptions) {
    this.#opts = {
      quotaSampleMs: 1000,
      restartBudget: { crashes: 3, windowMs: 60_000 },
      restartBackoffMs: 500,
      cpuBreachSamples: 10,
      diskSampleEvery: 5,
      livenessEvery: 5,
      logRate: DEFAULT_LOG_RATE,
      maxMessageBytes: RPC_MAX_MESSAGE_BYTES,
      nodePath: process.execPath,
      stopGraceMs: 5000,
      prewarmBroker: true,
      ...options,
    };
    // Absolute: the sandbox flags name these paths, and the plugin process runs in its data folder.
    this.#opts.runDir = resolve(this.#opts.runDir);
    // Build the runner bundle early; start() awaits it.
    runnerBundle(join(this.#opts.runDir, 'runner')).catch(() => undefined);
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

  async start(input: StartSpec): Promise<InstanceInfo> {
    const spec: StartSpec = {
      ...input,
      versionDir: resolve(input.versionDir),
      dataDir: resolve(input.dataDir),
    };
    const id = `i${randomBytes(6).toString('hex')}`;
    const instanceDir = join(this.#opts.runDir, 'i', id);
    const kind = spec.manifest.runtime.kind;
    const socketPath = join(this.#opts.runDir, 's', `${id}.sock`);
    const inst: Instance = {
      info: {
        id,
        tenant: spec.tenant,
        pluginId: spec.pluginId,
        version: spec.version,
        pid: undefined,
        state: 'starting',
        socketPath,
        isolation: {
          level: 'none',
          permissionModel: false,
          networkNamespace: false,
          pidNamespace: false,
          prlimit: false,
          notes: [],
        },
        startedAt: new Date().toISOString(),
        restarts: 0,
        usage: { rssMb: 0, privateMb: 0, cpuPercent: 0, diskMb: 0 },
        logsDropped: 0,
      },
      spec,
      instanceDir,
      accepting: false,
      logs: new LogCapture(
        this.#opts.logSink,
        { tenant: spec.tenant, plugin: spec.pluginId, version: spec.version, instance: id },
        this.#opts.logRate,
      ),
      crashes: [],
      cpuOver: 0,
      samples: 0,
      stopRequested: false,
      exitWaiters: [],
      memoryExhausted: false,
      stderrTail: [],
      seeds: new Map(),
      nextSeedId: 1,
      scope: {
        tenant: spec.tenant,
        pluginId: spec.pluginId,
        manifest: spec.manifest,
        secrets: spec.secrets,
        subscriptions: new Map(),
        deliver: (type, payload, meta) => {
          const event = { t: 'event', type, payload, meta };
          const size = messageBytes(event);
          // The cap holds both ways: an oversized event is not delivered, and the log says so.
          if (size > this.#opts.maxMessageBytes)
            inst.logs.write(
              'runtime',
              'warn',
              `event ${type} not delivered: ${size} bytes is over the ${this.#opts.maxMessageBytes}-byte cap`,
            );
          else this.#send(inst, event);
        },
      },
      rpcInFlight: 0,
      refusedMessages: 0,
      livenessFailures: 0,
      probing: false,
    };
    this.#instances.set(id, inst);
    this.#emitState(inst);
    try {
      if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
        throw new PluginRuntimeError('START_FAILED', {
          detail: `the socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter runDir`,
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
      await mkdir(instanceDir, { recursive: true, mode: 0o700 });
      await mkdir(spec.dataDir, { recursive: true, mode: 0o700 });
      if (kind === 'node') inst.server = await this.#listen(inst);
      await this.#spawn(inst);
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
    const closing = this.#closeServer(inst);
    await this.#terminate(inst, options.graceMs ?? this.#opts.stopGraceMs);
    await closing;
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
    this.#spareBroker?.kill('SIGKILL');
    this.#spareBroker = undefined;
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
    const id = inst.nextSeedId++;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        inst.seeds.delete(id);
        reject(
          new PluginRuntimeError('SEED_FAILED', {
            detail: `the seed hook did not finish within ${timeoutMs} ms`,
          }),
        );
      }, timeoutMs);
      inst.seeds.set(id, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#send(inst, { t: 'seed', id });
    });
  }

  // ------------------------------------------------------------------ process

  /** The instance's socket, owned by the supervisor; accepted connections are handed to the plugin paused. */
  async #listen(inst: Instance): Promise<net.Server> {
    const path = inst.info.socketPath;
    await rm(path, { force: true });
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      const child = inst.child;
      if (!inst.accepting || !child?.connected) {
        socket.end(unavailableResponse(inst.info.state));
        return;
      }
      socket.on('error', () => undefined);
      child.send('conn', socket, { keepOpen: false }, (error) => {
        if (error) socket.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => inst.logs.write('runtime', 'error', `socket error: ${error.message}`));
    await chmod(path, 0o600);
    return server;
  }

  /** Spawns the process and resolves once it passed the health gate. */
  async #spawn(inst: Instance): Promise<void> {
    const { spec } = inst;
    const kind = spec.manifest.runtime.kind;
    const { timeoutMs, path: healthPath } = spec.manifest.runtime.health;
    const deadline = performance.now() + timeoutMs;
    let configFile: string | undefined;
    if (kind === 'process') {
      await rm(inst.info.socketPath, { force: true });
      configFile = join(inst.instanceDir, 'config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          config: pickDeclaredConfig(spec),
          secrets: pickDeclared(spec),
          logLevel: spec.logLevel,
        }),
        { mode: 0o600 },
      );
    }
    const runnerPath = kind === 'node' ? await runnerBundle(join(this.#opts.runDir, 'runner')) : '';
    const plan = buildSpawnPlan({
      spec,
      nodePath: this.#opts.nodePath,
      runnerPath,
      host: probeHostIsolation(),
      socketPath: inst.info.socketPath,
      configFile,
    });
    inst.info.isolation = plan.isolation;
    inst.memoryExhausted = false;
    inst.stderrTail = [];
    inst.accepting = false;
    inst.lastSample = undefined;
    inst.cpuOver = 0;
    inst.livenessFailures = 0;

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
    const brokerPath = kind === 'node' ? await brokerBundle(join(this.#opts.runDir, 'runner')) : '';
    const child =
      kind === 'node'
        ? this.#takeBroker(brokerPath)
        : spawn(plan.command, plan.args, { cwd: plan.cwd, env: plan.env, stdio: ['ignore', 'pipe', 'pipe'] });
    inst.child = child;
    if (kind === 'node') {
      child.send(
        {
          t: 'broker.spawn',
          plan: {
            command: plan.command,
            args: plan.args,
            env: plan.env,
            cwd: plan.cwd,
            maxMessageBytes: this.#opts.maxMessageBytes,
            pidNamespace: plan.isolation.pidNamespace,
          },
        },
        () => undefined,
      );
    } else inst.info.pid = child.pid;
    inst.logs.attach(child.stdout!, 'stdout');
    inst.logs.attach(child.stderr!, 'stderr', (line) => {
      if (OOM_PATTERN.test(line)) inst.memoryExhausted = true;
      inst.stderrTail.push(line.slice(0, 500));
      if (inst.stderrTail.length > 8) inst.stderrTail.shift();
    });
    child.on('error', (error) => {
      inst.logs.write('runtime', 'error', `process error: ${error.message}`);
      if (inst.startup === startup)
        startup.fail(new PluginRuntimeError('START_FAILED', { detail: error.message }));
      // A process that could not be spawned never emits 'exit'.
      if (child.pid === undefined) this.#onExit(inst, child, null, null);
    });
    child.on('message', (message) => this.#onMessage(inst, child, message));
    child.on('exit', (code, signal) => this.#onExit(inst, child, code, signal));
    this.#startSampling(inst);
    const spawned = (pid: number | undefined, via: string) =>
      inst.logs.write(
        'runtime',
        'info',
        `spawned pid ${pid} (${plan.isolation.level}${plan.isolation.networkNamespace ? ', netns' : ''}${plan.isolation.prlimit ? ', prlimit' : ''})${via}`,
        {
          isolation: plan.isolation,
        },
      );
    if (kind === 'node') inst.onPluginSpawned = (pid) => spawned(pid, ` via IPC broker pid ${child.pid}`);
    else if (!plan.isolation.pidNamespace) spawned(child.pid, '');
    else {
      // process kind in a PID namespace: child is unshare; quotas and stop signals need the
      // executable itself (find-namespace-pid.ts). Until found, info.pid is unshare's pid.
      const alive = () => child.exitCode === null && child.signalCode === null;
      void findNamespacedPid(child.pid!, alive).then((pid) => {
        if (pid === undefined || !alive() || inst.child !== child) return;
        inst.info.pid = pid;
        inst.pluginPidInNamespace = true;
        spawned(pid, ` via unshare pid ${child.pid}`);
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
        this.#send(inst, {
          t: 'init',
          instanceId: inst.info.id,
          tenant: spec.tenant,
          pluginId: spec.pluginId,
          version: spec.version,
          entry: plan.entry,
          ...(spec.manifest.sandbox.seed
            ? { seedModule: resolveInside(spec.versionDir, spec.manifest.sandbox.seed) }
            : {}),
          dataDir: spec.dataDir,
          config: pickDeclaredConfig(spec),
          secrets: pickDeclared(spec),
          declaredSecrets: spec.manifest.config.secrets.map((s) => s.name),
          logLevel: spec.logLevel,
          maxMessageBytes: this.#opts.maxMessageBytes,
        });
        await Promise.race([ready, failed, timeout('the runner did not finish onStart')]);
        inst.accepting = true;
      }
      inst.info.state = 'health_check';
      this.#emitState(inst);
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
      if (kind === 'node') this.#refillSpareBroker(brokerPath);
    } catch (error) {
      inst.startup = undefined;
      inst.discarded = child;
      await this.#kill(inst);
      throw error;
    } finally {
      settled.abort();
    }
    inst.startup = undefined;
  }

  #spawnBroker(brokerPath: string): ChildProcess {
    return spawn(this.#opts.nodePath, [...BROKER_FLAGS, brokerPath], {
      cwd: this.#opts.runDir,
      env: BROKER_ENV,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
  }

  /** The spare broker when it is alive and idle, else a fresh one. */
  #takeBroker(brokerPath: string): ChildProcess {
    const spare = this.#spareBroker;
    this.#spareBroker = undefined;
    if (
      spare &&
      spare.connected &&
      spare.exitCode === null &&
      spare.signalCode === null &&
      spare.spawnargs.includes(brokerPath)
    ) {
      spare.removeAllListeners('exit');
      spare.removeAllListeners('error');
      spare.ref();
      spare.channel?.ref();
      (spare.stdout as unknown as { ref?(): void } | null)?.ref?.();
      (spare.stderr as unknown as { ref?(): void } | null)?.ref?.();
      return spare;
    }
    spare?.kill('SIGKILL');
    return this.#spawnBroker(brokerPath);
  }

  #refillSpareBroker(brokerPath: string): void {
    if (!this.#opts.prewarmBroker || this.#spareBroker) return;
    const spare = this.#spawnBroker(brokerPath);
    // An idle spare must not keep core's event loop alive; it exits when core's channel closes.
    spare.unref();
    spare.channel?.unref();
    (spare.stdout as unknown as { unref?(): void } | null)?.unref?.();
    (spare.stderr as unknown as { unref?(): void } | null)?.unref?.();
    spare.on('error', () => undefined);
    spare.on('exit', () => {
      if (this.#spareBroker === spare) this.#spareBroker = undefined;
    });
    this.#spareBroker = spare;
  }

  #setReady(inst: Instance): void {
    inst.info.state = 'ready';
    inst.logs.write('runtime', 'info', 'ready');
    this.#emitState(inst);
  }

  #onExit(inst: Instance, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (inst.child !== child) return;
    if (inst.spec.manifest.runtime.kind === 'node') {
      // `child` is the IPC broker. It reports the plugin's own exit before it ends; a broker that
      // ends without that report died (killed, or out of its small heap on an endless line): the
      // plugin must not survive it, and the instance fails for its IPC output.
      const reported = inst.pluginExit;
      if (!reported) {
        if (inst.info.pid !== undefined) killPid(inst.info.pid, 'SIGKILL');
        if (!inst.violation && !inst.stopRequested && inst.discarded !== child) {
          inst.violation = inst.memoryExhausted
            ? new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', {
                size: `more than ${this.#opts.maxMessageBytes}`,
                limit: this.#opts.maxMessageBytes,
              })
            : new PluginRuntimeError('RPC_INVALID', {
                detail: `the IPC broker of the instance ended (${signal ? `signal ${signal}` : `code ${code}`})`,
              });
        }
      }
      code = reported ? reported.code : code;
      signal = reported ? reported.signal : signal;
    } else if (inst.info.isolation.pidNamespace) {
      // unshare → sh → executable: sh turned a death by signal N into code 128+N.
      ({ code, signal } = exitFromShell(code, signal, osConstants.signals as Record<string, number>));
    }
    inst.child = undefined;
    const discarded = inst.discarded === child;
    inst.discarded = undefined;
    inst.accepting = false;
    inst.info.pid = undefined;
    clearInterval(inst.quotaTimer);
    this.#dropSubscriptions(inst);
    for (const seed of inst.seeds.values())
      seed.reject(new PluginRuntimeError('SEED_FAILED', { detail: 'the plugin process exited' }));
    inst.seeds.clear();
    for (const resolve of inst.exitWaiters.splice(0)) resolve();
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const startup = inst.startup;
    if (startup && inst.stopRequested) {
      startup.fail(new PluginRuntimeError('START_FAILED', { detail: 'stopped while starting' }));
      return;
    }
    if (inst.stopRequested || discarded) return; // its start failed: the start path reports it
    if (inst.info.state === 'failed') return; // killed by us for a quota breach
    if (inst.violation) {
      if (startup) startup.fail(inst.violation);
      else this.#fail(inst, inst.violation.code, toFailure(inst.violation));
      return;
    }
    if (startup) {
      const detail = startup.fatalMessage ?? (inst.stderrTail.slice(-3).join(' | ') || `exited with ${how}`);
      startup.fail(
        inst.memoryExhausted
          ? new PluginRuntimeError('QUOTA_MEMORY', {
              usedMb: '>' + inst.spec.manifest.resources.memoryMb,
              limitMb: inst.spec.manifest.resources.memoryMb,
            })
          : new PluginRuntimeError('START_FAILED', {
              detail: `exited with ${how} before it was healthy: ${detail}`,
            }),
      );
      return;
    }
    if (inst.memoryExhausted) {
      this.#fail(inst, 'QUOTA_MEMORY', {
        usedMb: `>${inst.spec.manifest.resources.memoryMb}`,
        limitMb: inst.spec.manifest.resources.memoryMb,
      });
      return;
    }
    if (signal === 'SIGXCPU') {
      this.#fail(inst, 'QUOTA_CPU', { percent: 100, limitPercent: inst.spec.manifest.resources.cpuPercent });
      return;
    }
    if (signal === 'SIGXFSZ') {
      // prlimit --fsize: it wrote one file past resources.diskMb (process-kind executables; Node ignores SIGXFSZ and gets EFBIG).
      this.#fail(inst, 'QUOTA_DISK', {
        usedMb: `>${inst.spec.manifest.resources.diskMb}`,
        limitMb: inst.spec.manifest.resources.diskMb,
      });
      return;
    }
    const hung = inst.hung;
    inst.hung = false;
    this.#crashed(inst, hung ? 'stopped answering its health checks; killed' : `exited with ${how}`);
  }

  #crashed(inst: Instance, how: string): void {
    const now = performance.now();
    const { crashes: allowed, windowMs } = this.#opts.restartBudget;
    inst.crashes = inst.crashes.filter((t) => now - t < windowMs);
    inst.crashes.push(now);
    if (inst.crashes.length >= allowed) {
      this.#fail(inst, 'CRASH_LOOP', { count: inst.crashes.length, windowSec: Math.round(windowMs / 1000) });
      return;
    }
    const delay = Math.min(10_000, this.#opts.restartBackoffMs * 2 ** (inst.crashes.length - 1));
    inst.info.state = 'starting';
    inst.logs.write(
      'runtime',
      'warn',
      `crashed (${how}); restart ${inst.crashes.length}/${allowed - 1} in ${delay} ms`,
      { delayMs: delay },
    );
    this.#emitState(inst);
    inst.restartTimer = setTimeout(() => {
      inst.restartTimer = undefined;
      if (inst.stopRequested || inst.info.state === 'failed') return;
      inst.info.restarts++;
      this.#spawn(inst).then(
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
    // process kind in a PID namespace: unshare ignores SIGTERM; signal the executable (SIGKILL to
    // unshare also ends the namespace, --kill-child, so it goes there as well).
    else if (inst.pluginPidInNamespace && inst.info.pid !== undefined && signal !== 'SIGKILL')
      killPid(inst.info.pid, signal);
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

  /** Closes the socket, drops subscriptions and removes the instance's files. */
  async #release(inst: Instance): Promise<void> {
    clearInterval(inst.quotaTimer);
    clearTimeout(inst.restartTimer);
    this.#dropSubscriptions(inst);
    await this.#closeServer(inst);
    await rm(inst.info.socketPath, { force: true });
    await rm(inst.instanceDir, { recursive: true, force: true });
    inst.info.logsDropped = inst.logs.dropped;
  }

  /**
   * Stops accepting on the instance socket. The listening handle closes at once; we do not wait
   * for 'close': Node counts sockets handed to a child as the child's and would ask the (maybe
   * dead) child about them before emitting it.
   */
  #closeServer(inst: Instance): Promise<void> {
    const server = inst.server;
    inst.server = undefined;
    if (server?.listening) server.close();
    return Promise.resolve();
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

  // ------------------------------------------------------------------ quotas

  #startSampling(inst: Instance): void {
    clearInterval(inst.quotaTimer);
    inst.samples = 0;
    inst.quotaTimer = setInterval(() => void this.#sample(inst), this.#opts.quotaSampleMs);
    inst.quotaTimer.unref();
    void this.#measureDisk(inst);
  }

  async #sample(inst: Instance): Promise<void> {
    // The plugin process, not its IPC broker: the broker's memory is core's overhead, bounded
    // by its own small heap limit, and not charged to the plugin's quota.
    const pid = inst.info.pid;
    if (!pid || inst.info.state === 'failed' || inst.stopRequested) return;
    const sample = await sampleProcess(pid);
    if (!sample || inst.info.pid !== pid) return;
    const { memoryMb, cpuPercent: cpuLimit } = inst.spec.manifest.resources;
    const previous = inst.lastSample;
    inst.lastSample = sample;
    const usage = inst.info.usage;
    usage.rssMb = round1(sample.rssMb);
    usage.privateMb = round1(sample.privateMb);
    if (previous) usage.cpuPercent = round1(cpuPercent(previous, sample));
    inst.info.logsDropped = inst.logs.dropped;
    // The quota counts memory the instance owns, not the ~45 MB of Node binary pages every
    // instance shares (they are in VmRSS too, and would make small quotas unusable).
    if (sample.privateMb > memoryMb) {
      this.#fail(inst, 'QUOTA_MEMORY', { usedMb: Math.round(sample.privateMb), limitMb: memoryMb });
      return;
    }
    if (previous) {
      inst.cpuOver = usage.cpuPercent > cpuLimit ? inst.cpuOver + 1 : 0;
      if (inst.cpuOver >= this.#opts.cpuBreachSamples) {
        this.#fail(inst, 'QUOTA_CPU', { percent: Math.round(usage.cpuPercent), limitPercent: cpuLimit });
        return;
      }
    }
    inst.samples++;
    if (inst.samples % this.#opts.livenessEvery === 0) void this.#probeLiveness(inst);
    if (inst.samples % this.#opts.diskSampleEvery === 0) await this.#measureDisk(inst);
    if ((inst.info.state as string) === 'failed') return;
    this.#emit({ type: 'instance.usage', instance: snapshot(inst) });
  }

  /**
   * A ready instance must keep answering its health path: one that hangs without burning CPU
   * (a deadlock, Atomics.wait, a stuck promise chain in the handler) is restarted after three
   * failed probes in a row, which counts against the restart budget like a crash.
   */
  async #probeLiveness(inst: Instance): Promise<void> {
    const child = inst.child;
    if (inst.info.state !== 'ready' || !child || inst.probing) return;
    inst.probing = true;
    const { path, timeoutMs } = inst.spec.manifest.runtime.health;
    const status = await probeHealth(inst.info.socketPath, path, timeoutMs);
    inst.probing = false;
    if (inst.child !== child || inst.info.state !== 'ready') return;
    if (status !== undefined && status >= 200 && status < 300) {
      inst.livenessFailures = 0;
      return;
    }
    inst.livenessFailures++;
    inst.logs.write(
      'runtime',
      'warn',
      `health check ${path} failed (${status ?? 'no answer'}), ${inst.livenessFailures}/3`,
    );
    if (inst.livenessFailures >= 3) {
      inst.livenessFailures = 0;
      inst.hung = true;
      this.#signalPlugin(inst, 'SIGKILL');
    }
  }

  async #measureDisk(inst: Instance): Promise<void> {
    const bytes = await folderBytes(inst.spec.dataDir);
    inst.info.usage.diskMb = round1(bytes / 2 ** 20);
    const limit = inst.spec.manifest.resources.diskMb;
    if (inst.info.usage.diskMb > limit)
      this.#fail(inst, 'QUOTA_DISK', { usedMb: Math.round(inst.info.usage.diskMb), limitMb: limit });
  }

  // ------------------------------------------------------------------ IPC

  #send(inst: Instance, message: object): void {
    const child = inst.child;
    if (!child?.connected) return;
    child.send(message, (error) => {
      if (error) inst.logs.write('runtime', 'debug', `IPC send failed: ${error.message}`);
    });
  }

  #onMessage(inst: Instance, child: ChildProcess, raw: unknown): void {
    if (inst.child !== child) return;
    if (this.#onBrokerMessage(inst, raw)) return;
    // The broker checked this message already; checking again costs little and keeps this the one door.
    const gate = admitMessage(raw, this.#opts.maxMessageBytes);
    if (!gate.ok) {
      inst.refusedMessages++;
      inst.logs.write('runtime', 'warn', `refused a message from the plugin: ${gate.error.message}`, {
        code: gate.error.code,
      });
      if (gate.id !== undefined)
        this.#send(inst, { t: 'rpc.result', id: gate.id, ok: false, error: errorBody(gate.error) });
      return;
    }
    const message: RunnerToSupervisor = gate.message;
    switch (message.t) {
      case 'ready':
        inst.startup?.runnerReady();
        break;
      case 'fatal':
        if (inst.startup) inst.startup.fatalMessage = message.message;
        inst.logs.write(
          'runtime',
          'error',
          `plugin failed to start: ${message.message}`,
          message.stack ? { stack: message.stack } : undefined,
        );
        break;
      case 'log':
        inst.logs.write('sdk', message.level, message.msg, message.fields);
        break;
      case 'seed.done': {
        const seed = inst.seeds.get(message.id);
        if (!seed) break;
        inst.seeds.delete(message.id);
        if (message.ok) seed.resolve();
        else seed.reject(new PluginRuntimeError('SEED_FAILED', { detail: message.message }));
        break;
      }
      case 'rpc': {
        if (inst.rpcInFlight >= MAX_RPC_IN_FLIGHT) {
          this.#send(inst, {
            t: 'rpc.result',
            id: message.id,
            ok: false,
            error: errorBody(
              new PluginRuntimeError('RPC_INVALID', {
                detail: `more than ${MAX_RPC_IN_FLIGHT} calls in flight`,
              }),
            ),
          });
          break;
        }
        inst.rpcInFlight++;
        serveCall(message, inst.scope, this.#opts.host)
          .then(
            (value) => {
              const reply = { t: 'rpc.result', id: message.id, ok: true, value: value ?? null };
              const size = messageBytes(reply);
              return size > this.#opts.maxMessageBytes
                ? {
                    t: 'rpc.result',
                    id: message.id,
                    ok: false,
                    error: errorBody(
                      new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', {
                        size,
                        limit: this.#opts.maxMessageBytes,
                      }),
                    ),
                  }
                : reply;
            },
            (error: unknown) => {
              const body = errorBody(error);
              if (body.code === 'PERMISSION_DENIED' || body.code === 'SECRET_NOT_DECLARED')
                inst.logs.write('runtime', 'warn', `refused ${message.method}: ${body.message}`, {
                  code: body.code,
                });
              else if (body.code === 'INTERNAL')
                inst.logs.write(
                  'runtime',
                  'error',
                  `${message.method} failed in core: ${(error as Error)?.message ?? String(error)}`,
                );
              return { t: 'rpc.result', id: message.id, ok: false, error: body };
            },
          )
          .then((reply) => {
            inst.rpcInFlight--;
            if (inst.child === child) this.#send(inst, reply);
          });
        break;
      }
    }
  }

  /** The broker's own reports (broker.ts); plugin messages can never carry these types (the gate refuses them). */
  #onBrokerMessage(inst: Instance, raw: unknown): boolean {
    const m = raw as { t?: unknown } & Record<string, unknown>;
    if (typeof m?.t !== 'string' || !m.t.startsWith('broker.')) return false;
    switch (m.t) {
      case 'broker.spawned':
        inst.info.pid = m.pid as number;
        inst.onPluginSpawned?.(m.pid as number);
        inst.onPluginSpawned = undefined;
        break;
      case 'broker.refused':
        inst.refusedMessages++;
        inst.logs.write('runtime', 'warn', `refused a message from the plugin: ${String(m.message)}`, {
          code: m.code,
        });
        break;
      case 'broker.violation': {
        const detail = String(m.detail);
        inst.violation =
          m.code === 'RPC_MESSAGE_TOO_LARGE'
            ? new PluginRuntimeError('RPC_MESSAGE_TOO_LARGE', {
                size: `more than ${Number(m.size) || this.#opts.maxMessageBytes}`,
                limit: this.#opts.maxMessageBytes,
              })
            : new PluginRuntimeError('RPC_INVALID', { detail });
        // The broker killed and reaped the plugin before reporting.
        inst.pluginExit = { code: null, signal: 'SIGKILL' };
        inst.logs.write(
          'runtime',
          'error',
          `IPC channel violation: ${detail}; the plugin process was killed`,
          { code: inst.violation.code },
        );
        break;
      }
      case 'broker.exit':
        inst.pluginExit = {
          code: (m.code as number | null) ?? null,
          signal: (m.signal as NodeJS.Signals | null) ?? null,
        };
        if (typeof m.error === 'string') {
          inst.logs.write('runtime', 'error', `process error: ${m.error}`);
          inst.stderrTail.push(m.error.slice(0, 500));
        }
        break;
    }
    return true;
  }

  // ------------------------------------------------------------------ events

  #emitState(inst: Instance): void {
    this.#emit({ type: 'instance.state', instance: snapshot(inst) });
  }

  #emit(event: SupervisorEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch {
      // a listener's bug must not break the supervisor
    }
  }
}

function snapshot(inst: Instance): InstanceInfo {
  const info = inst.info;
  return {
    ...info,
    isolation: { ...info.isolation, notes: [...info.isolation.notes] },
    usage: { ...info.usage },
    logsDropped: inst.logs.dropped,
    ...(info.failure ? { failure: { ...info.failure } } : {}),
  };
}

function toFailure(error: unknown): InstanceFailure {
  if (error instanceof PluginRuntimeError || (error as { code?: unknown })?.code) {
    const e = error as PluginRuntimeError;
    if (typeof e.hint === 'string') return { code: e.code, message: e.message, hint: e.hint };
  }
  const e = new PluginRuntimeError('START_FAILED', { detail: (error as Error)?.message ?? String(error) });
  return { code: e.code, message: e.message, hint: e.hint };
}

/** ctx.config holds declared env only, whatever core passes. */
function pickDeclaredConfig(spec: StartSpec): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { name } of spec.manifest.config.env)
    if (spec.config[name] !== undefined) out[name] = spec.config[name];
  return out;
}

function pickDeclared(spec: StartSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name } of spec.manifest.config.secrets)
    if (spec.secrets[name] !== undefined) out[name] = spec.secrets[name];
  return out;
}

/** Signals a pid we do not own as a ChildProcess (the plugin under its broker); gone already is fine. */
function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: it has exited already
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function unavailableResponse(state: string): string {
  const body = JSON.stringify({
    code: 'INSTANCE_UNAVAILABLE',
    message: `The plugin is ${state}`,
    hint: 'Wait for the plugin to become healthy, or check its status and logs.',
  });
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nretry-after: 1\r\n\r\n${body}`;
}
