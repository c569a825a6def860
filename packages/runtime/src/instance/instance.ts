/** The supervisor's record of one instance, and small helpers over it. */
import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { PluginRuntimeError } from '@powerx/protocol';
import type { InstanceFailure, InstanceInfo, InstanceState, StartSpec } from '../contract.ts';
import type { LogCapture } from '../log-capture.ts';
import type { ProcSample } from '../proc-stats.ts';
import type { CallScope } from '../rpc-host.ts';
import type { InstanceCgroup } from '../sandbox/cgroups.ts';
import type { DataVolume } from '../sandbox/data-volume.ts';
import type { Turns } from './turns.ts';

export interface Startup {
  runnerReady(): void;
  fail(error: PluginRuntimeError): void;
  fatalMessage?: string;
}

/** What `start` reports while it runs (see `StartOptions.onPhase`). */
export type StartPhase = Extract<InstanceState, 'starting' | 'health_check' | 'ready' | 'failed'>;

export interface Instance {
  info: InstanceInfo;
  spec: StartSpec;
  instanceDir: string;
  server?: net.Server;
  child?: ChildProcess;
  /** The runner said ready: connections are handed over (health checks included). */
  accepting: boolean;
  startup?: Startup;
  /** The first start's phase callback; dropped once `start` settles. */
  onPhase?: (phase: StartPhase, instance: InstanceInfo) => void;
  logs: LogCapture;
  crashes: number[];
  quotaTimer?: NodeJS.Timeout;
  lastSample?: ProcSample;
  cpuOver: number;
  samples: number;
  /** Throttled CFS periods at the last sample (CPU cgroup). */
  throttledBefore: number;
  /** OOM kills of the memory cgroup when the current process started. */
  oomKillsBefore: number;
  diskMeasuring: boolean;
  stopRequested: boolean;
  exitWaiters: Array<() => void>;
  memoryExhausted: boolean;
  /** stderr showed ENOSPC: with an ext4 volume, a death then is the disk quota. */
  diskExhausted: boolean;
  stderrTail: string[];
  seeds: Map<number, { resolve(): void; reject(error: Error): void }>;
  nextSeedId: number;
  scope: CallScope;
  restartTimer?: NodeJS.Timeout;
  /** A child we are killing because its start failed: its exit is not a crash. */
  discarded?: ChildProcess;
  rpcInFlight: number;
  /** Its storage calls in core's database at a time (turns.ts says why). */
  storageTurns: Turns;
  refusedMessages: number;
  livenessFailures: number;
  probing: boolean;
  /** Killed by us after failed liveness probes: reported as such in the crash line. */
  hung?: boolean;
  /** node plugins: how the plugin process ended, as its IPC broker reported it. */
  pluginExit?: { code: number | null; signal: NodeJS.Signals | null };
  /** process kind: info.pid is the executable inside its PID namespace, not the spawned wrapper. */
  pluginPidInNamespace?: boolean;
  /** Processes between the spawned one and the plugin (from the spawn plan). */
  pidDepth: number;
  /** node plugins: the broker ended the instance for unparseable or unbounded IPC output. */
  violation?: PluginRuntimeError;
  onPluginSpawned?: (pid: number) => void;
  /** Kernel limits and the data volume, held from the first spawn to the release. */
  cgroup?: InstanceCgroup;
  volume?: DataVolume;
}

export function snapshot(inst: Instance): InstanceInfo {
  const info = inst.info;
  return {
    ...info,
    isolation: { ...info.isolation, notes: [...info.isolation.notes] },
    usage: { ...info.usage },
    logsDropped: inst.logs.dropped,
    ...(info.failure ? { failure: { ...info.failure } } : {}),
  };
}

export function toFailure(error: unknown): InstanceFailure {
  if (error instanceof PluginRuntimeError || (error as { code?: unknown })?.code) {
    const e = error as PluginRuntimeError;
    if (typeof e.hint === 'string') return { code: e.code, message: e.message, hint: e.hint };
  }
  const e = new PluginRuntimeError('START_FAILED', { detail: (error as Error)?.message ?? String(error) });
  return { code: e.code, message: e.message, hint: e.hint };
}

/** ctx.config holds declared env only, whatever core passes. */
export function pickDeclaredConfig(spec: StartSpec): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { name } of spec.manifest.config.env)
    if (spec.config[name] !== undefined) out[name] = spec.config[name];
  return out;
}

export function pickDeclared(spec: StartSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name } of spec.manifest.config.secrets)
    if (spec.secrets[name] !== undefined) out[name] = spec.secrets[name];
  return out;
}

/** Signals a pid we do not own as a ChildProcess (the plugin under its broker); gone already is fine. */
export function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: it has exited already
  }
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
