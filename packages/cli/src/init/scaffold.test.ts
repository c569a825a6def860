import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifestSource } from '@powerx/package-format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAUNCHER, packageRoot } from '../cli-paths.ts';
import { scaffoldProject } from './scaffold.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const EXAMPLE = join(REPO_ROOT, 'examples/hello');
/** Not committed in examples/hello (see its .gitignore): links, build output, packages. */
const UNTRACKED = (path: string) =>
  path.startsWith('node_modules/') ||
  path.startsWith('dist/') ||
  path.endsWith('.pxp') ||
  path === 'package-lock.json';

function listFiles(root: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listFiles(root, rel));
    else files.push(rel);
  }
  return files.filter((f) => !UNTRACKED(f)).sort();
}

describe('px-plugin init', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'px-init-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('examples/hello is exactly what the template generates today (no drift)', async () => {
    const fresh = join(root, 'hello');
    await scaffoldProject(fresh, { id: 'com.powerx.plugin.hello', name: 'Hello' });
    expect(listFiles(EXAMPLE)).toEqual(listFiles(fresh));
    for (const file of listFiles(fresh)) {
      if (file === 'package.json') continue; // its file: specs are relative to where the project lives
      expect(
        readFileSync(join(EXAMPLE, file), 'utf8'),
        `examples/hello/${file} drifted: regenerate it (packages/cli/README.md)`,
      ).toBe(readFileSync(join(fresh, file), 'utf8'));
    }
    type Pkg = Record<string, unknown> & { devDependencies: Record<string, string> };
    const pkg = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Pkg;
    const { devDependencies: exampleDeps, ...exampleRest } = pkg(EXAMPLE);
    const { devDependencies: _freshDeps, ...freshRest } = pkg(fresh);
    expect(exampleRest).toEqual(freshRest);
    expect(exampleDeps).toEqual({
      '@powerx/cli': 'file:../../packages/cli',
      '@powerx/plugin-sdk': 'file:../../packages/plugin-sdk',
    });
  });

  it('writes a manifest that reads back as the id and name given', async () => {
    const dir = join(root, 'orders');
    const result = await scaffoldProject(dir, {
      id: 'com.acme.plugin.orders',
      name: 'Orders: <Admin> & "Co"',
    });
    const manifest = await readManifestSource(dir);
    expect(manifest.id).toBe('com.acme.plugin.orders');
    expect(manifest.name).toBe('Orders: <Admin> & "Co"');
    expect(manifest.admin?.menus?.[0].title).toBe('Orders: <Admin> & "Co"');
    expect(manifest.events.publish).toEqual(['orders.greeted']);
    expect(readFileSync(join(dir, 'admin/index.html'), 'utf8')).toContain(
      'Orders: &#60;Admin&#62; &#38; &#34;Co&#34;',
    );
    expect(result.files).toContain('.gitignore');
  });

  it('derives id and name from the folder name when none are given', async () => {
    const result = await scaffoldProject(join(root, 'My_Shop-2'), {});
    expect(result.id).toBe('com.example.plugin.my-shop-2');
    expect(result.name).toBe('My Shop 2');
  });

  it('links the launcher and the SDK into node_modules so the project needs no npm install', async () => {
    const dir = join(root, 'linked');
    await scaffoldProject(dir, {});
    expect(
      resolve(join(dir, 'node_modules/.bin'), readlinkSync(join(dir, 'node_modules/.bin/px-plugin'))),
    ).toBe(LAUNCHER);
    expect(
      resolve(join(dir, 'node_modules/@powerx'), readlinkSync(join(dir, 'node_modules/@powerx/plugin-sdk'))),
    ).toBe(packageRoot('@powerx/plugin-sdk'));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    expect(resolve(dir, pkg.devDependencies['@powerx/plugin-sdk'].slice('file:'.length))).toBe(
      packageRoot('@powerx/plugin-sdk'),
    );
  });

  it('refuses a non-empty folder with INIT_DIR_NOT_EMPTY and touches nothing in it', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(scaffoldProject(dir, {})).rejects.toMatchObject({ code: 'INIT_DIR_NOT_EMPTY' });
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('writes into a non-empty folder with --force, keeping unrelated files', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await scaffoldProject(dir, { force: true });
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'plugin.yaml'))).toBe(true);
  });

  it('rejects an id that is not lower-case reverse DNS with MANIFEST_BAD_ID and creates no folder', async () => {
    const dir = join(root, 'bad');
    await expect(scaffoldProject(dir, { id: 'Hello' })).rejects.toMatchObject({ code: 'MANIFEST_BAD_ID' });
    expect(existsSync(dir)).toBe(false);
  });
});
