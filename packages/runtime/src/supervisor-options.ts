/** The supervisor's options, their defaults, and the resolved form its parts read (instance/context.ts). */
import { resolve } from 'node:path';
import { RPC_MAX_MESSAGE_BYTES } from '@powerx/protocol';
import type { HostServices, InstanceInfo, LogSink, SupervisorEvent } from './contract.ts';
import { DEFAULT_LOG_RATE, type LogRate } from './log-capture.ts';
import type { ResolvedOptions } from './instance/context.ts';
import type { StartPhase } from './instance/instance.ts';

export const DEFAULT_SANDBOX_UID = 59_500;

export interface SandboxOptions {
  /** Host uid/gid plugins run as when core is root. Default 59500/59500; must not be used by anything else. */
  uid?: number;
  gid?: number;
  /** Start plugins without bubblewrap (shown as WEAK everywhere). Default false: ISOLATION_UNAVAILABLE. */
  allowWeakIsolation?: boolean;
  /** Hold the disk quota with a loop-mounted ext4 image where the host allows. Default true. */
  diskImages?: boolean;
}

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
  /** Consecutive samples above resources.cpuPercent (or throttled) before QUOTA_CPU. Default 10. */
  cpuBreachSamples?: number;
  /** Measure the data folder every N samples. Default 1. */
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
  /** Keep one idle IPC broker spawned ahead (see instance/spare-broker.ts). Default true. */
  prewarmBroker?: boolean;
  sandbox?: SandboxOptions;
}

export interface StartOptions {
  /**
   * Called as the start moves on: `starting`, `health_check`, then `ready` (or `failed` just
   * before `start` rejects). Synchronous, before the matching `instance.state` event.
   */
  onPhase?: (phase: StartPhase, instance: InstanceInfo) => void;
}

export function resolveOptions(options: SupervisorOptions): ResolvedOptions {
  const { sandbox, ...rest } = options;
  return {
    quotaSampleMs: 1000,
    restartBudget: { crashes: 3, windowMs: 60_000 },
    restartBackoffMs: 500,
    cpuBreachSamples: 10,
    diskSampleEvery: 1,
    livenessEvery: 5,
    logRate: DEFAULT_LOG_RATE,
    maxMessageBytes: RPC_MAX_MESSAGE_BYTES,
    nodePath: process.execPath,
    stopGraceMs: 5000,
    prewarmBroker: true,
    ...rest,
    // Absolute: the sandbox binds these paths.
    runDir: resolve(rest.runDir),
    sandbox: {
      uid: sandbox?.uid ?? DEFAULT_SANDBOX_UID,
      gid: sandbox?.gid ?? sandbox?.uid ?? DEFAULT_SANDBOX_UID,
      allowWeakIsolation: sandbox?.allowWeakIsolation ?? false,
      diskImages: sandbox?.diskImages ?? true,
    },
  };
}
