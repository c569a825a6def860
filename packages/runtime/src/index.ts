export * from './contract.ts';
export { Supervisor, type SupervisorOptions } from './supervisor.ts';
export { createEntryProxy, type EntryProxy, type EntryResolver, type EntryTarget } from './entry-proxy.ts';
export { generateTestData } from './test-data.ts';
export type { LogRate } from './log-capture.ts';
export { probeHostIsolation, type HostIsolation } from './isolation-probe.ts';
export { FORBIDDEN_NODE_FLAGS } from './spawn-plan.ts';
export { PluginRuntimeError } from '@powerx/protocol';
export type { TestDataSpec } from '@powerx/protocol';
