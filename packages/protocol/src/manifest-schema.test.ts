import { describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { ManifestSchema, normalizeManifest, type ManifestSource } from './manifest-schema.ts';

const validator = Compile(ManifestSchema);

const minimal: ManifestSource = {
  id: 'com.powerx.plugin.hello',
  name: 'Hello',
  version: '1.0.0',
  powerx: '>=1.0.0 <2.0.0',
  runtime: { kind: 'node', entry: './dist/server.js' },
};

describe('manifest schema', () => {
  it('accepts a minimal manifest and fills every default when normalized', () => {
    expect(validator.Check(minimal)).toBe(true);
    const manifest = normalizeManifest(minimal);
    expect(manifest.runtime).toEqual({
      kind: 'node',
      entry: 'dist/server.js',
      args: [],
      health: { path: '/healthz', timeoutMs: 3000 },
    });
    expect(manifest.resources).toEqual({ memoryMb: 128, cpuPercent: 50, diskMb: 64, storageMb: 64 });
    expect(manifest.config).toEqual({ env: [], secrets: [], logLevel: 'info' });
    expect(manifest.events).toEqual({ publish: [], subscribe: [] });
    expect(manifest.requires).toEqual({});
  });

  it('normalizing twice gives the same manifest', () => {
    const once = normalizeManifest(minimal);
    expect(validator.Check(once)).toBe(true);
    expect(normalizeManifest(once as unknown as ManifestSource)).toEqual(once);
  });

  it('rejects unknown fields and wrong types with the path of the problem', () => {
    const wrong = { ...minimal, resources: { memoryMb: 'lots' }, extra: true };
    expect(validator.Check(wrong)).toBe(false);
    const paths = validator.Errors(wrong).map((e) => e.instancePath);
    expect(paths).toContain('/resources/memoryMb');
  });

  it('rejects permissions outside the documented set', () => {
    expect(validator.Check({ ...minimal, permissions: ['storage', 'http:api.example.com'] })).toBe(true);
    expect(validator.Check({ ...minimal, permissions: ['root'] })).toBe(false);
  });

  it('types env values and marks unspecified ones as optional strings', () => {
    const manifest = normalizeManifest({
      ...minimal,
      config: { env: [{ name: 'GREETING' }], secrets: [{ name: 'API_KEY', required: true }] },
    });
    expect(manifest.config.env[0]).toEqual({ name: 'GREETING', type: 'string', required: false });
    expect(manifest.config.secrets[0]).toEqual({ name: 'API_KEY', required: true });
  });
});
