import { describe, expect, it } from 'vitest';
import { normalizeManifest } from '@powerx/protocol';
import { resolveConfig } from './wizard.ts';

const manifest = normalizeManifest({
  id: 'com.example.plugin.w',
  name: 'W',
  version: '1.0.0',
  powerx: '>=1.0.0',
  runtime: { kind: 'node', entry: 'dist/server.js' },
  config: {
    env: [
      { name: 'GREETING', type: 'string', required: true, default: 'hi' },
      { name: 'RETRIES', type: 'number', required: true },
      { name: 'VERBOSE', type: 'boolean' },
      { name: 'MODE', type: 'enum', enum: ['a', 'b'] },
    ],
    secrets: [{ name: 'API_KEY', required: true }],
  },
});

describe('install wizard', () => {
  it('applies defaults and coerces strings to the declared types', () => {
    const r = resolveConfig(manifest, { env: { RETRIES: '3', VERBOSE: 'true', MODE: 'b' }, secrets: { API_KEY: 'k' } });
    expect(r).toEqual({ env: { GREETING: 'hi', RETRIES: 3, VERBOSE: true, MODE: 'b' }, secrets: { API_KEY: 'k' }, logLevel: 'info', missing: [] });
  });

  it('lists required values that are still missing', () => {
    expect(resolveConfig(manifest, {}).missing).toEqual(['RETRIES', 'API_KEY']);
  });

  it('refuses a value of the wrong type with CONFIG_INVALID', () => {
    expect(() => resolveConfig(manifest, { env: { RETRIES: 'many' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => resolveConfig(manifest, { env: { MODE: 'c' } })).toThrow(/not one of a, b/);
  });

  it('refuses names the plugin does not declare', () => {
    expect(() => resolveConfig(manifest, { secrets: { OTHER: 'x' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('keeps earlier values when a later submission leaves them out', () => {
    const r = resolveConfig(manifest, { env: { RETRIES: 1 } }, { env: {}, secrets: { API_KEY: 'old' } });
    expect(r.secrets.API_KEY).toBe('old');
    expect(r.missing).toEqual([]);
  });
});
