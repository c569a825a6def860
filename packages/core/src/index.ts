/** @powerx/core: the sandbox server. `startCore()` is what `npm start` and the tests run. */
export { startCore, type StartCoreOptions, type RunningCore } from './start-core.ts';
export { CORE_VERSION } from './version.ts';
export type { EventBus, BusEvent } from './events/event-bus.ts';
export { SandboxLimits, type TenantLimits } from './limits/sandbox-limits.ts';
export { createScratchSchema, TEST_DATABASE_URL, type ScratchSchema } from './storage/scratch-schema.ts';
export { openTestNats, randomNatsPrefix, TEST_NATS_URL } from './cluster/test-nats.ts';
