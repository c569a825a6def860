/**
 * `px-plugin init`: copy the plugin template into a new folder, fill in id and name, and link
 * the CLI and SDK this checkout brings, so the project builds offline anywhere on disk.
 *
 * Offline design: the project gets
 *   node_modules/.bin/px-plugin      → this CLI's launcher (so `npx px-plugin` finds it locally)
 *   node_modules/@powerx/plugin-sdk  → this checkout's SDK (editor types, `import` resolution)
 * and package.json devDependencies with `file:` specs to the same folders, so the intent is
 * recorded. The build itself never reads the project's node_modules for the SDK: esbuild
 * resolves `@powerx/*` to the CLI's own copy (see build/bundle.ts).
 */
import { lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ConflictError, InputError, PLUGIN_ID_PATTERN } from '@powerx/protocol';
import { LAUNCHER, TEMPLATE_DIR, packageRoot } from '../cli-paths.ts';

export interface InitOptions {
  id?: string;
  name?: string;
  force?: boolean;
}

export interface InitResult {
  dir: string;
  id: string;
  name: string;
  /** Files written, relative to dir, sorted. */
  files: string[];
  /** Links made, relative to dir, with their (relative) targets. */
  links: Array<{ path: string; target: string }>;
}

/** Template files whose real name would confuse tools while they sit inside the CLI package. */
const RENAMED: Record<string, string> = { _gitignore: '.gitignore' };

/** The project links to what the CLI brings; examples/hello ignores them (they are machine-specific). */
export const GENERATED_LINKS = ['node_modules/.bin/px-plugin', 'node_modules/@powerx/plugin-sdk'] as const;

export async function scaffoldProject(target: string, options: InitOptions = {}): Promise<InitResult> {
  const dir = resolve(target);
  const existed = await checkTarget(dir, Boolean(options.force));
  const slug = slugOf(basename(dir));
  const id = options.id ?? `com.example.plugin.${slug}`;
  if (!new RegExp(PLUGIN_ID_PATTERN).test(id)) throw new InputError('MANIFEST_BAD_ID', { id });
  const name = (options.name ?? titleOf(id.slice(id.lastIndexOf('.') + 1))).trim();
  if (!name || name.length > 128 || /[\r\n]/.test(name)) {
    throw new InputError('USAGE', {
      detail: `--name must be 1 to 128 characters on one line, got "${name}"`,
    });
  }
  const values = { id, name, slug: id.slice(id.lastIndexOf('.') + 1) };

  try {
    await mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (const file of await listTemplate(TEMPLATE_DIR)) {
      const outName = file
        .split('/')
        .map((part) => RENAMED[part] ?? part)
        .join('/');
      const text = fill(await readFile(join(TEMPLATE_DIR, file), 'utf8'), values, outName);
      await mkdir(dirname(join(dir, outName)), { recursive: true });
      await writeFile(join(dir, outName), text, { mode: 0o644 });
      files.push(outName);
    }
    await writeFile(join(dir, 'package.json'), projectPackageJson(dir, values), { mode: 0o644 });
    files.push('package.json');
    const links = [
      await link(dir, GENERATED_LINKS[0], LAUNCHER),
      await link(dir, GENERATED_LINKS[1], packageRoot('@powerx/plugin-sdk')),
    ];
    return { dir, id, name, files: files.sort(), links };
  } catch (error) {
    // Leave nothing behind: a folder we created goes away whole.
    if (!existed) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Returns whether the folder already existed; refuses a non-empty one unless forced. */
async function checkTarget(dir: string, force: boolean): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') throw new InputError('USAGE', { detail: `${dir} is a file, not a folder` });
    throw error;
  }
  if (entries.length > 0 && !force) throw new ConflictError('INIT_DIR_NOT_EMPTY', { dir });
  return true;
}

async function listTemplate(root: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  const entries = (await readdir(join(root, prefix), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  );
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listTemplate(root, rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}

/** Replaces {{id}}, {{name}}, {{slug}}, escaped for the kind of file they land in. */
function fill(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) return whole;
    if (file.endsWith('.html')) return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    if (file.endsWith('.yaml') && !/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(value)) return JSON.stringify(value);
    if (file.endsWith('.ts')) return JSON.stringify(value).slice(1, -1).replace(/'/g, "\\'");
    return value;
  });
}

function projectPackageJson(dir: string, values: { slug: string }): string {
  const fileSpec = (to: string) => `file:${relative(dir, to).split('\\').join('/')}`;
  const pkg = {
    name: values.slug,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { build: 'px-plugin build', validate: 'px-plugin validate .', inspect: 'px-plugin inspect' },
    devDependencies: {
      '@powerx/cli': fileSpec(dirname(dirname(LAUNCHER))),
      '@powerx/plugin-sdk': fileSpec(packageRoot('@powerx/plugin-sdk')),
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

async function link(dir: string, path: string, to: string): Promise<{ path: string; target: string }> {
  const at = join(dir, path);
  await mkdir(dirname(at), { recursive: true });
  const exists = await lstat(at).then(
    () => true,
    () => false,
  );
  if (exists) await rm(at, { recursive: true, force: true });
  const target = relative(dirname(at), to);
  await symlink(target, at);
  return { path, target };
}

function slugOf(base: string): string {
  const slug = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  return slug || 'plugin';
}

function titleOf(slug: string): string {
  return slug
    .split('-')
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join(' ');
}
