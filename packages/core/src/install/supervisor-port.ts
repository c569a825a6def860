/**
 * The part of the runtime's Supervisor the pipeline uses. Typed here so the pipeline depends on
 * the contract (packages/runtime/src/contract.ts), not on the Supervisor class.
 */
import type { InstanceInfo, StartSpec } from '@powerx/runtime';

export interface PluginSupervisor {
  start(spec: StartSpec): Promise<InstanceInfo>;
  stop(id: string, opts?: { graceMs?: number; reason?: string }): Promise<unknown>;
  get(id: string): InstanceInfo | undefined;
  list(): InstanceInfo[];
  stopAll(opts?: { graceMs?: number; reason?: string }): Promise<unknown>;
  runSeed(id: string): Promise<unknown>;
}
