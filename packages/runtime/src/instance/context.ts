/** What the supervisor's parts (spawn, IPC, sampling) need from it. */
import type { ChildProcess } from 'node:child_process';
import type { ErrorCode } from '@powerx/protocol';
import type { HostServices, InstanceFailure, LogSink, SupervisorEvent } from '../contract.ts';
import type { LogRate } from '../log-capture.ts';
import type { SandboxSettings } from '../spawn-plan.ts';
import type { BrokerPool } from './spare-broker.ts';
import type { Instance } from './instance.ts';

export interface ResolvedOptions {
  runDir: string;
  logSink: LogSink;
  host: HostServices;
  onEvent?: (event: SupervisorEvent) => void;
  quotaSampleMs: number;
  restartBudget: { crashes: number; windowMs: number };
  restartBackoffMs: number;
  cpuBreachSamples: number;
  diskSampleEvery: number;
  livenessEvery: number;
  logRate: LogRate;
  maxMessageBytes: number;
  nodePath: string;
  stopGraceMs: number;
  prewarmBroker: boolean;
  sandbox: SandboxSettings & { diskImages: boolean };
}

export interface SupervisorContext {
  opts: ResolvedOptions;
  brokers: BrokerPool;
  send(inst: Instance, message: object): void;
  fail(inst: Instance, code: ErrorCode, params: Record<string, unknown> | InstanceFailure): void;
  emitState(inst: Instance): void;
  emit(event: SupervisorEvent): void;
  signalPlugin(inst: Instance, signal: NodeJS.Signals): void;
  kill(inst: Instance): Promise<void>;
  onExit(inst: Instance, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void;
}
