/** Everything the routes need, built once by startCore. */
import type { Logger } from 'pino';
import type { CoreConfig } from './config/core-config.ts';
import type { Db } from './storage/schema.ts';
import type { AuditLog } from './audit/audit-log.ts';
import type { EventBus } from './events/event-bus.ts';
import type { CoreMetrics } from './metrics/core-metrics.ts';
import type { SandboxLimits } from './limits/sandbox-limits.ts';
import type { IdentityService } from './identity/identity-service.ts';
import type { TenantService } from './tenants/tenant-service.ts';
import type { InstallPipeline } from './install/install-pipeline.ts';
import type { PluginLogFeed } from './plugins/plugin-log-feed.ts';
import type { CorePaths } from './config/core-paths.ts';
import type { PackageValidator } from './install/package-validator.ts';
import type { PluginSupervisor } from './install/supervisor-port.ts';
import type { DevPolicyStore } from './config/dev-policy.ts';
import type { FeatureFlags } from './config/feature-flags.ts';
import type { PluginRepository } from './plugins/plugin-repository.ts';
import type { DevService } from './dev/dev-service.ts';

export interface CoreServices {
  /** Every PX_* setting, read and checked once at start (config/core-config.ts). */
  config: CoreConfig;
  db: Db;
  log: Logger;
  paths: CorePaths;
  audit: AuditLog;
  bus: EventBus;
  metrics: CoreMetrics;
  limits: SandboxLimits;
  identity: IdentityService;
  tenants: TenantService;
  pipeline: InstallPipeline;
  plugins: PluginRepository;
  logs: PluginLogFeed;
  validator: PackageValidator;
  supervisor: PluginSupervisor;
  coreVersion: string;
  /** The dev policy's devMode right now (it may change on a re-read). */
  readonly devMode: boolean;
  /** The debugging permission policy in force (dev_policy.yaml + overrides). */
  policy: DevPolicyStore;
  flags: FeatureFlags;
  platformKeys: string[];
  /** Set once the server listens. */
  publicUrl(): string;
  /** The test entry point of a plugin under publicUrl() (http/entry-url.ts). */
  entryUrl(tenant: string, pluginId: string): string;
  ready(): boolean;
  /** Dev mode: sessions, reload lanes, the live log hub. Built after the other services. */
  dev: DevService;
}

/** What DevService is built from: every service but itself. */
export type CoreServicesWithoutDev = Omit<CoreServices, 'dev'>;
