/**
 * The part of the runtime's Supervisor the pipeline uses. Typed here so the pipeline depends on
 * the contract (packages/runtime/src/contract.ts), not on the Supervisor class.
 */
import type { InstanceInfo, StartOptions, StartSpec } from '@powerx/runtime';

export interface PluginSupervisor {
  /** `opts.onPhase` reports starting → health_check → ready while the start runs. */
  start(spec: StartSpec, opts?: StartOptions): Promise<InstanceInfo>;
  stop(id: string, opts?: { graceMs?: number; reason?: string }): Promise<unknown>;
  get(id: string): InstanceInfo | undefined;
  list(): InstanceInfo[];
  stopAll(opts?: { graceMs?: number; reason?: string }): Promise<unknown>;
  runSeed(id: string): Promise<unknown>;
}
