import { describe, expect, it } from 'vitest';
import { FeatureFlags, parseFeatureFlagsEnv } from './feature-flags.ts';

describe('feature flags', () => {
  it('are all on unless turned off, the option winning over PX_FEATURE_FLAGS flag by flag', () => {
    expect(new FeatureFlags().list().every((f) => f.enabled)).toBe(true);
    const flags = FeatureFlags.read(
      { 'plugin-dev-logs': true },
      'plugin-dev-logs=off, plugin-sandbox-mode=off',
    );
    expect(flags.enabled('plugin-dev-logs')).toBe(true);
    expect(flags.enabled('plugin-sandbox-mode')).toBe(false);
    expect(flags.enabled('px-plugin-runtime-v2')).toBe(true);
  });

  it('an unknown name or value in PX_FEATURE_FLAGS is a start-up error naming it', () => {
    for (const raw of ['plugin-dev-log=off', 'plugin-dev-logs=maybe', 'plugin-dev-logs=off=on'])
      expect(() => parseFeatureFlagsEnv(raw)).toThrow(/PX_FEATURE_FLAGS is invalid: cannot read/);
    expect(() => new FeatureFlags({ nope: false } as never)).toThrow(/flags is invalid/);
  });

  it('require() throws FEATURE_DISABLED naming the flag and what was asked for', () => {
    const flags = new FeatureFlags({ 'plugin-dev-logs': false });
    expect(() => flags.require('plugin-dev-logs', 'the live log channel')).toThrow(
      expect.objectContaining({ code: 'FEATURE_DISABLED', status: 404 }),
    );
    expect(() => flags.require('plugin-sandbox-mode', 'x')).not.toThrow();
  });
});
