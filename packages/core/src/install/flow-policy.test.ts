import { describe, expect, it } from 'vitest';
import { DEV_FLOW, UPLOAD_FLOW, flowPolicy } from './flow-policy.ts';

const sandbox = { kind: 'sandbox', allowUnsigned: false };
const sandboxOptIn = { kind: 'sandbox', allowUnsigned: true };
const production = { kind: 'production', allowUnsigned: true };

describe('flow policy', () => {
  it('picks the policy from the persisted flow name', () => {
    expect(flowPolicy('dev')).toBe(DEV_FLOW);
    expect(flowPolicy('upload')).toBe(UPLOAD_FLOW);
  });

  it('accepts an unsigned upload only on a dev-mode core in a sandbox tenant that opted in', () => {
    expect(UPLOAD_FLOW.allowUnsigned({ devMode: true }, sandboxOptIn)).toBe(true);
    expect(UPLOAD_FLOW.allowUnsigned({ devMode: true }, sandbox)).toBe(false);
    expect(UPLOAD_FLOW.allowUnsigned({ devMode: false }, sandboxOptIn)).toBe(false);
    expect(UPLOAD_FLOW.allowUnsigned({ devMode: true }, production)).toBe(false);
  });

  it('accepts an unsigned dev reload in any sandbox tenant of a dev-mode core, never elsewhere', () => {
    expect(DEV_FLOW.allowUnsigned({ devMode: true }, sandbox)).toBe(true);
    expect(DEV_FLOW.allowUnsigned({ devMode: false }, sandbox)).toBe(false);
    expect(DEV_FLOW.allowUnsigned({ devMode: true }, production)).toBe(false);
  });

  it('lets an upload wait for wizard values while a dev reload fails with a hint', () => {
    expect(UPLOAD_FLOW.missingConfigHint).toBeUndefined();
    expect(DEV_FLOW.missingConfigHint).toMatch(/default in plugin.yaml/);
  });

  it('keeps dev reloads out of the sandbox install metrics and reuses their content-addressed folders', () => {
    expect(UPLOAD_FLOW.metrics).toBe('sandbox');
    expect(DEV_FLOW.metrics).toBe('dev');
    expect(DEV_FLOW.contentAddressedVersions).toBe(true);
    expect(UPLOAD_FLOW.contentAddressedVersions).toBe(false);
    expect(DEV_FLOW.carriesConfigOver).toBe(true);
    expect(UPLOAD_FLOW.carriesConfigOver).toBe(false);
  });
});
