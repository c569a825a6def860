/**
 * Bundling a plugin's backend with esbuild: `src/<name>.ts` → `dist/<name>.js` for the manifest's
 * `runtime.entry` and `sandbox.seed`. ESM, platform node, target node26, one self-contained file
 * per entry, byte-for-byte the same output for the same input.
 *
 * `@powerx/*` imports (the SDK) always resolve to the copy this CLI ships, never to the
 * project's node_modules, so a project builds offline wherever it lives. They are loaded under
 * a virtual `powerx:` namespace with package-relative paths, so the bundle does not depend on
 * where the PowerX checkout sits on disk (no absolute paths leak into the output either).
 */
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { PackageError, type Manifest } from '@powerx/protocol';
import { CLI_ROOT, packageRoot } from '../cli-paths.ts';

export interface BundleEntry {
  /** The manifest field this entry comes from, e.g. runtime.entry. */
  field: string;
  /** Source file, relative to the project, e.g. src/server.ts. */
  source: string;
  /** Output file, relative to the project, e.g. dist/server.js. */
  output: string;
}

export interface BundledFile {
  /** Relative to the project, e.g. dist/server.js. */
  path: string;
  contents: Uint8Array;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.tsx', '.js', '.mjs', '.jsx'];
const OUTPUT_PATTERN = /^dist\/(.+)\.m?js$/;

/**
 * The entries to bundle. A `dist/<name>.js` path is built from `src/<name>.<ts|mts|tsx|js|mjs|jsx>`.
 * `runtime.kind: process` entries are not bundled (any executable); the caller ships them as they are.
 */
export function bundleEntries(manifest: Manifest, projectDir: string): BundleEntry[] {
  const wanted: Array<{ field: string; output: string }> = [];
  if (manifest.runtime.kind === 'node')
    wanted.push({ field: 'runtime.entry', output: manifest.runtime.entry });
  if (manifest.sandbox.seed) wanted.push({ field: 'sandbox.seed', output: manifest.sandbox.seed });
  const entries: BundleEntry[] = [];
  for (const { field, output } of wanted) {
    if (entries.some((e) => e.output === output)) continue;
    const match = OUTPUT_PATTERN.exec(output);
    if (!match) {
      throw new PackageError('BUILD_FAILED', {
        detail: `${field} is "${output}"; px-plugin build writes dist/<name>.js from src/<name>.ts`,
      });
    }
    const candidates = SOURCE_EXTENSIONS.map((ext) => `src/${match[1]}${ext}`);
    const source = candidates.find((candidate) => existsSync(join(projectDir, candidate)));
    if (!source) {
      throw new PackageError('BUILD_FAILED', {
        detail: `${field} is "${output}" but there is no source for it: expected ${candidates[0]}`,
      });
    }
    entries.push({ field, source, output });
  }
  return entries;
}

/** The esbuild options for a project; `px-plugin dev --watch` can pass them to esbuild.context(). */
export function esbuildOptions(
  projectDir: string,
  entries: BundleEntry[],
): esbuild.BuildOptions & { write: false } {
  return {
    absWorkingDir: projectDir,
    entryPoints: entries.map((e) => ({ in: e.source, out: e.output.replace(/\.m?js$/, '') })),
    outdir: '.',
    outExtension: { '.js': '.js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node26',
    write: false,
    logLevel: 'silent',
    charset: 'utf8',
    legalComments: 'eof',
    sourcemap: false,
    // Bundled CommonJS dependencies may call require(); give ESM output a real one.
    banner: {
      js: "import { createRequire as __pxCreateRequire } from 'node:module';\nconst require = __pxCreateRequire(import.meta.url);",
    },
    plugins: [powerxPackagesPlugin()],
  };
}

/** Bundles the entries in memory; throws BUILD_FAILED with file:line:column on any error. */
export async function bundle(projectDir: string, entries: BundleEntry[]): Promise<BundledFile[]> {
  if (entries.length === 0) return [];
  let result: esbuild.BuildResult<{ write: false }>;
  try {
    result = await esbuild.build(esbuildOptions(projectDir, entries));
  } catch (error) {
    throw buildFailed(error);
  }
  const root = resolve(projectDir);
  return result.outputFiles
    .map((file) => ({ path: relative(root, file.path).split('\\').join('/'), contents: file.contents }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** esbuild messages as "file:line:column: text", the form editors and terminals link. */
export function formatMessage(message: esbuild.Message): string {
  const loc = message.location;
  if (!loc) return message.text;
  const file = loc.namespace && loc.namespace !== 'file' ? `${loc.namespace}:${loc.file}` : loc.file;
  return `${file}:${loc.line}:${loc.column + 1}: ${message.text}`;
}

export function buildFailed(error: unknown): PackageError {
  const errors = (error as { errors?: esbuild.Message[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) {
    return new PackageError(
      'BUILD_FAILED',
      { detail: error instanceof Error ? error.message : String(error) },
      { cause: error },
    );
  }
  const lines = errors.slice(0, 10).map(formatMessage);
  if (errors.length > 10) lines.push(`… and ${errors.length - 10} more errors`);
  const first = errors[0].location;
  return new PackageError(
    'BUILD_FAILED',
    {
      detail: lines.join('\n  '),
      ...(first
        ? { file: first.file, line: first.line, column: first.column + 1, lineText: first.lineText }
        : {}),
    },
    { cause: error },
  );
}

const requireFromCli = createRequire(join(CLI_ROOT, 'package.json'));

/** Resolves `@powerx/<pkg>` (and the files it imports) to the CLI's copy under a `powerx:` namespace. */
function powerxPackagesPlugin(): esbuild.Plugin {
  const packageOf = (displayPath: string) => displayPath.split('/').slice(0, 2).join('/');
  const display = (name: string, file: string) => ({
    path: `${name}/${relative(packageRoot(name), file).split('\\').join('/')}`,
    namespace: 'powerx',
    pluginData: { file },
  });
  return {
    name: 'powerx-packages',
    setup(build) {
      build.onResolve({ filter: /^@powerx\/[^/]+/ }, (args) => {
        const name = packageOf(args.path);
        let file: string;
        try {
          file = realpathSync(requireFromCli.resolve(args.path));
        } catch {
          return {
            errors: [
              {
                text: `Cannot resolve "${args.path}": px-plugin ships ${name === '@powerx/plugin-sdk' ? 'it, but this checkout is incomplete (run npm install in the PowerX repository)' : 'only @powerx/plugin-sdk for plugins'}`,
              },
            ],
          };
        }
        return display(name, file);
      });
      build.onResolve({ filter: /^\.\.?\//, namespace: 'powerx' }, (args) =>
        display(packageOf(args.importer), resolve(args.resolveDir, args.path)),
      );
      build.onLoad({ filter: /.*/, namespace: 'powerx' }, async (args) => {
        const file = (args.pluginData as { file: string }).file;
        const ext = extname(file);
        const loader =
          ext === '.ts' || ext === '.mts' ? 'ts' : ext === '.tsx' ? 'tsx' : ext === '.json' ? 'json' : 'js';
        return { contents: await readFile(file), loader, resolveDir: dirname(file) };
      });
    },
  };
}
