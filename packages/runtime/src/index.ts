export * from './contract.ts';
export { Supervisor, type StartPhase } from './supervisor.ts';
export {
  DEFAULT_SANDBOX_UID,
  type SupervisorOptions,
  type SandboxOptions,
  type StartOptions,
} from './supervisor-options.ts';
export { createEntryProxy, type EntryProxy, type EntryResolver, type EntryTarget } from './entry-proxy.ts';
export { ENTRY_SANDBOX_POLICY } from './entry-response-headers.ts';
export {
  HOP_BY_HOP_HEADERS,
  appendForwardedFor,
  forwardableHeaders,
  forwardableRawHeaders,
} from './forwarded-headers.ts';
export { IsolatedTestDataGenerator } from './test-data-generator.ts';
export { LogCapture, type LogRate } from './log-capture.ts';
export { probeHostIsolation, type HostIsolation } from './sandbox/host-probe.ts';
export { releaseStaleDataVolumes } from './sandbox/data-volume.ts';
export { FORBIDDEN_NODE_FLAGS } from './spawn-plan.ts';
export { PluginRuntimeError } from '@powerx/protocol';
export type { TestDataSpec } from '@powerx/protocol';
export { killLeftoverPlugin } from './leftover-process.ts';
