/**
 * What differs between an upload install (`px-plugin install`, the Admin) and a dev reload
 * (`px-plugin dev`): one object per flow, so the pipeline asks the policy instead of testing the
 * flow name. The flow is persisted on the install row, so a restarted core still knows it.
 */
import type { InstallsTable } from '../storage/schema.ts';

export type InstallFlow = InstallsTable['flow'];

export interface FlowPolicy {
  readonly flow: InstallFlow;
  /** Whether an unsigned package is accepted from this tenant on this core. */
  allowUnsigned(core: { devMode: boolean }, tenant: { kind: string; allowUnsigned: boolean }): boolean;
  /** Why an unsigned package was accepted: written to the audit entry. */
  readonly unsignedReason: string;
  /** The serving install's config and secrets are the base of the new one (reloads keep them). */
  readonly carriesConfigOver: boolean;
  /**
   * Missing wizard values: an upload waits in awaiting_config for someone to answer the wizard;
   * a dev reload has nobody to answer it and fails with this hint instead.
   */
  readonly missingConfigHint: string | undefined;
  /** Version folders named by the package's hash, so the same build again reuses its folder. */
  readonly contentAddressedVersions: boolean;
  /** Which metrics and bus events count this flow's installs: the sandbox ones or the dev ones. */
  readonly metrics: 'sandbox' | 'dev';
}

export const UPLOAD_FLOW: FlowPolicy = {
  flow: 'upload',
  allowUnsigned: (core, tenant) => core.devMode && tenant.kind === 'sandbox' && tenant.allowUnsigned,
  unsignedReason: 'dev-mode core, sandbox tenant that allows unsigned packages',
  carriesConfigOver: false,
  missingConfigHint: undefined,
  contentAddressedVersions: false,
  metrics: 'sandbox',
};

export const DEV_FLOW: FlowPolicy = {
  flow: 'dev',
  // `px-plugin dev` never signs: the sandbox tenant need not opt in, the core must be in dev mode.
  allowUnsigned: (core, tenant) => core.devMode && tenant.kind === 'sandbox',
  unsignedReason: 'dev install (px-plugin dev) on a dev-mode core, sandbox tenant',
  carriesConfigOver: true,
  missingConfigHint:
    'Give the values a default in plugin.yaml, or set them once with `px-plugin install` / the Admin; dev reloads carry them over.',
  contentAddressedVersions: true,
  metrics: 'dev',
};

export function flowPolicy(flow: InstallFlow): FlowPolicy {
  return flow === 'dev' ? DEV_FLOW : UPLOAD_FLOW;
}
