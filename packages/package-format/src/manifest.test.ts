import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PackageError } from '@powerx/protocol';
import { checkManifest, readManifestSource } from './index.ts';
import { FIXTURES, tempDirs } from './test-helpers.ts';

const tmp = tempDirs('pxp-manifest-test');
afterEach(() => tmp.cleanup());
const good = async () =>
  JSON.parse(await readFile(join(FIXTURES, 'good', 'src', 'manifest.json'), 'utf8')) as Record<
    string,
    unknown
  >;
const minimal = {
  id: 'com.example.plugin.hello',
  name: 'Hello',
  version: '0.1.0',
  powerx: '>=1.0.0 <2.0.0',
  runtime: { kind: 'node', entry: './dist/server.js' },
};

describe('checkManifest', () => {
  it('passes a good manifest and normalizes it, filling every default', () => {
    const { checks, manifest } = checkManifest(minimal);
    expect(checks.map((c) => [c.id, c.ok])).toEqual([
      ['manifest.schema', true],
      ['manifest.semantics', true],
    ]);
    expect(manifest?.runtime).toEqual({
      kind: 'node',
      entry: 'dist/server.js',
      args: [],
      health: { path: '/healthz', timeoutMs: 3000 },
    });
    expect(manifest?.resources).toEqual({ memoryMb: 128, cpuPercent: 50, diskMb: 64, storageMb: 64 });
  });

  it('reports schema errors with the field path and stops before semantics', () => {
    const { checks, manifest } = checkManifest({ ...minimal, version: 3, extra: true });
    expect(manifest).toBeUndefined();
    expect(checks[0]).toMatchObject({ id: 'manifest.schema', ok: false, code: 'MANIFEST_INVALID' });
    expect(checks[0].message).toContain('version must be string');
    expect(checks[0].message).toContain('unknown field extra');
    expect(checks[1]).toMatchObject({ id: 'manifest.semantics', ok: false });
    expect(checks[1].code).toBeUndefined();
    expect(checks[1].message).toMatch(/^Not run: /);
  });

  it('refuses a manifest that is not an object', () => {
    expect(checkManifest([1, 2]).checks[0]).toMatchObject({ ok: false, code: 'MANIFEST_INVALID' });
    expect(checkManifest(null).checks[0]).toMatchObject({ ok: false, code: 'MANIFEST_INVALID' });
  });

  it.each([
    [{ id: 'Hello' }, 'MANIFEST_BAD_ID'],
    [{ id: 'com.example' }, 'MANIFEST_BAD_ID'],
    [{ version: '1.0' }, 'MANIFEST_BAD_VERSION'],
    [{ version: 'v1.0.0' }, 'MANIFEST_BAD_VERSION'],
    [{ powerx: 'not a range' }, 'MANIFEST_BAD_RANGE'],
    [{ requires: { 'com.example.plugin.base': '^^2' } }, 'MANIFEST_BAD_RANGE'],
    [{ conflicts: { NotAnId: '*' } }, 'MANIFEST_BAD_ID'],
    [{ runtime: { kind: 'python', entry: 'main.py' } }, 'MANIFEST_RUNTIME_UNKNOWN'],
    [{ runtime: { kind: 'node', entry: '../outside.js' } }, 'MANIFEST_INVALID'],
    [{ config: { env: [{ name: 'A' }], secrets: [{ name: 'A' }] } }, 'MANIFEST_INVALID'],
    [{ config: { env: [{ name: 'A', type: 'number', default: 'x' }] } }, 'MANIFEST_INVALID'],
  ])('refuses %j with %s', (patch, code) => {
    const { checks, manifest } = checkManifest({ ...minimal, ...patch });
    expect(manifest).toBeUndefined();
    expect(checks[1]).toMatchObject({ id: 'manifest.semantics', ok: false, code });
    expect(checks[1].hint).toBeTruthy();
  });

  it('lists every semantic problem in the message, the first one giving the code', () => {
    const { checks } = checkManifest({ ...minimal, id: 'Bad', version: 'x' });
    expect(checks[1].code).toBe('MANIFEST_BAD_ID');
    expect(checks[1].message).toContain('"Bad"');
    expect(checks[1].message).toContain('"x"');
  });

  it('checks that entry, seed and admin folder exist when given the package files', async () => {
    const manifest = await good();
    const files = new Set(['manifest.json', 'dist/server.js', 'dist/seed.js', 'admin/index.html']);
    expect(checkManifest(manifest, { files }).manifest).toBeDefined();
    for (const [missing, field] of [
      ['dist/server.js', 'runtime.entry'],
      ['dist/seed.js', 'sandbox.seed'],
      ['admin/index.html', 'admin.staticDir'],
    ]) {
      const without = new Set([...files].filter((f) => f !== missing));
      const check = checkManifest(manifest, { files: without }).checks[1];
      expect(check).toMatchObject({ ok: false, code: 'MANIFEST_ENTRY_MISSING' });
      expect(check.message).toContain(field);
    }
  });
});

describe('readManifestSource', () => {
  it('reads plugin.yaml and normalizes it', async () => {
    const dir = await tmp.make();
    await writeFile(
      join(dir, 'plugin.yaml'),
      'id: com.example.plugin.hello\nname: Hello\nversion: 0.1.0\npowerx: ">=1.0.0 <2.0.0"\nruntime: { kind: node, entry: dist/server.js }\n',
    );
    const manifest = await readManifestSource(dir);
    expect(manifest.id).toBe('com.example.plugin.hello');
    expect(manifest.config.logLevel).toBe('info');
  });

  it('reads manifest.json when there is no plugin.yaml', async () => {
    const dir = await tmp.make();
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(minimal));
    expect((await readManifestSource(dir)).version).toBe('0.1.0');
  });

  it('says PROJECT_NOT_FOUND for a folder without a manifest', async () => {
    const dir = await tmp.make();
    await expect(readManifestSource(dir)).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
  });

  it('says MANIFEST_NOT_YAML with the line for broken YAML', async () => {
    const dir = await tmp.make();
    await writeFile(join(dir, 'plugin.yaml'), 'id: com.example.plugin.hello\nname: [unclosed\n');
    const err = (await readManifestSource(dir).catch((e: unknown) => e)) as PackageError;
    expect(err).toBeInstanceOf(PackageError);
    expect(err.code).toBe('MANIFEST_NOT_YAML');
    expect(err.message).toMatch(/line \d/);
  });

  it('says MANIFEST_NOT_JSON for broken manifest.json', async () => {
    const dir = await tmp.make();
    await writeFile(join(dir, 'manifest.json'), '{ "id": ');
    await expect(readManifestSource(dir)).rejects.toMatchObject({ code: 'MANIFEST_NOT_JSON' });
  });

  it('throws the semantic code with its message and hint', async () => {
    const dir = await tmp.make();
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...minimal, version: '1' }));
    const err = (await readManifestSource(dir).catch((e: unknown) => e)) as PackageError;
    expect(err.code).toBe('MANIFEST_BAD_VERSION');
    expect(err.message).toContain('"1"');
    expect(err.hint).toContain('MAJOR.MINOR.PATCH');
  });
});
