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
    const r = resolveConfig(manifest, {
      env: { RETRIES: '3', VERBOSE: 'true', MODE: 'b' },
      secrets: { API_KEY: 'k' },
    });
    expect(r).toEqual({
      env: { GREETING: 'hi', RETRIES: 3, VERBOSE: true, MODE: 'b' },
      secrets: { API_KEY: 'k' },
      logLevel: 'info',
      missing: [],
      explicitEnv: ['RETRIES', 'VERBOSE', 'MODE'],
    });
  });

  it('lists required values that are still missing', () => {
    expect(resolveConfig(manifest, {}).missing).toEqual(['RETRIES', 'API_KEY']);
  });

  it('refuses a value of the wrong type with CONFIG_INVALID', () => {
    expect(() => resolveConfig(manifest, { env: { RETRIES: 'many' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => resolveConfig(manifest, { env: { MODE: 'c' } })).toThrow(/not one of a, b/);
  });

  it('refuses names the plugin does not declare', () => {
    expect(() => resolveConfig(manifest, { secrets: { OTHER: 'x' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('keeps earlier values when a later submission leaves them out', () => {
    const r = resolveConfig(manifest, { env: { RETRIES: 1 } }, { env: {}, secrets: { API_KEY: 'old' } });
    expect(r.secrets.API_KEY).toBe('old');
    expect(r.missing).toEqual([]);
  });

  describe('carrying values over (dev reloads, reconfigure)', () => {
    const v2 = normalizeManifest({
      ...manifest,
      version: '1.1.0',
      config: {
        ...manifest.config,
        env: manifest.config.env.map((e) => (e.name === 'GREETING' ? { ...e, default: 'hello' } : e)),
      },
    });

    it('a value that only came from a default follows the new default', () => {
      const first = resolveConfig(manifest, { env: { RETRIES: '3' }, secrets: { API_KEY: 'k' } });
      expect(first.explicitEnv).toEqual(['RETRIES']);
      const next = resolveConfig(v2, {}, { ...first, explicitEnv: first.explicitEnv });
      expect(next.env).toEqual({ GREETING: 'hello', RETRIES: 3 });
      expect(next.secrets).toEqual({ API_KEY: 'k' });
      expect(next.explicitEnv).toEqual(['RETRIES']);
    });

    it('a value the developer set carries over, even when the default changes', () => {
      const first = resolveConfig(manifest, {
        env: { GREETING: 'howdy', RETRIES: '3' },
        secrets: { API_KEY: 'k' },
      });
      const next = resolveConfig(v2, {}, first);
      expect(next.env.GREETING).toBe('howdy');
      expect(next.explicitEnv).toEqual(['GREETING', 'RETRIES']);
      // … and keeps carrying over on the reload after.
      expect(resolveConfig(v2, {}, next).env.GREETING).toBe('howdy');
    });

    it('a wizard value equal to the default counts as the default (pre-filled and left alone)', () => {
      const first = resolveConfig(manifest, {
        env: { GREETING: 'hi', RETRIES: '3' },
        secrets: { API_KEY: 'k' },
      });
      expect(first.explicitEnv).toEqual(['RETRIES']);
      expect(resolveConfig(v2, {}, first).env.GREETING).toBe('hello');
    });

    it('without a record of explicit names, every previous value carries over (configs saved before)', () => {
      const next = resolveConfig(v2, {}, { env: { GREETING: 'hi', RETRIES: 3 }, secrets: { API_KEY: 'k' } });
      expect(next.env.GREETING).toBe('hi');
    });
  });
});
