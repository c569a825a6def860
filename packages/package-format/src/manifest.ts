import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { Compile } from 'typebox/compile';
import {
  ERROR_CODES,
  fillTemplate,
  ManifestSchema,
  normalizeManifest,
  PackageError,
  PLUGIN_ID_PATTERN,
  RUNTIME_KINDS,
  type ErrorCode,
  type Manifest,
  type ManifestSource,
  type ValidationCheck,
} from '@powerx/protocol';
import { checkEntryPath } from './entry-path.ts';

/** One thing wrong with a manifest: a code, the template parameters, and optionally a sharper hint. */
export interface ManifestProblem {
  code: ErrorCode;
  params: Record<string, unknown>;
  hint?: string;
}

export const CHECK_TITLES = {
  'archive.safety': 'Archive is safe to unpack',
  'manifest.present': 'manifest.json is present',
  'manifest.schema': 'Manifest matches the schema',
  'manifest.semantics': 'Manifest values are well-formed',
  'integrity.hashes': 'Files match _pxp/SHA256SUMS exactly',
  'signature.valid': 'Signature is valid',
  'signature.trusted': 'Signing key is trusted',
  'core.compatible': 'Plugin runs on this core version',
} as const;
export type CheckId = keyof typeof CHECK_TITLES;

const compileSchema = () => Compile(ManifestSchema);
let compiled: ReturnType<typeof compileSchema> | undefined;
const schemaChecker = () => (compiled ??= compileSchema());
const ID_RE = new RegExp(PLUGIN_ID_PATTERN);

/**
 * Schema and semantic checks of a parsed manifest (plugin.yaml / manifest.json content), shared
 * by `px-plugin build` (before bundling) and the package validator. When `files` (the package's
 * file paths) is given, the files the manifest points at must be among them.
 * Returns the `manifest.schema` and `manifest.semantics` checks, and the normalized manifest when
 * both pass.
 */
export function checkManifest(
  raw: unknown,
  opts: { files?: ReadonlySet<string> } = {},
): { checks: ValidationCheck[]; manifest?: Manifest } {
  let started = performance.now();
  const schemaProblem = schemaProblemOf(raw);
  const schemaCheck = schemaProblem
    ? failedCheck('manifest.schema', [schemaProblem], started)
    : passedCheck('manifest.schema', 'The manifest matches the schema.', started);
  if (schemaProblem) {
    return {
      checks: [schemaCheck, notRunCheck('manifest.semantics', 'the manifest does not match the schema')],
    };
  }
  started = performance.now();
  const source = raw as ManifestSource;
  const problems = semanticProblems(source, opts.files);
  if (problems.length) return { checks: [schemaCheck, failedCheck('manifest.semantics', problems, started)] };
  const manifest = normalizeManifest(source);
  return {
    checks: [
      schemaCheck,
      passedCheck(
        'manifest.semantics',
        `${manifest.id}@${manifest.version}, runtime ${manifest.runtime.kind}, entry ${manifest.runtime.entry}.`,
        started,
      ),
    ],
    manifest,
  };
}

function schemaProblemOf(raw: unknown): ManifestProblem | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      code: 'MANIFEST_INVALID',
      params: {
        detail: `the manifest must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`,
      },
    };
  }
  const checker = schemaChecker();
  if (checker.Check(raw)) return undefined;
  const details: string[] = [];
  for (const error of checker.Errors(raw)) {
    if (error.keyword === 'boolean') continue; // "schema is false": the additionalProperties error says it better
    const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    const params = error.params as Record<string, unknown>;
    const text =
      error.keyword === 'additionalProperties'
        ? `${where}: unknown field ${(params.additionalProperties as string[]).join(', ')}`
        : error.keyword === 'required'
          ? `${where}: missing ${(params.requiredProperties as string[]).join(', ')}`
          : `${where} ${error.message}`;
    if (!details.includes(text)) details.push(text);
    if (details.length === 4) break;
  }
  return {
    code: 'MANIFEST_INVALID',
    params: { detail: details.join('; ') || 'it does not match the schema' },
  };
}

function semanticProblems(m: ManifestSource, files: ReadonlySet<string> | undefined): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  if (!ID_RE.test(m.id)) problems.push({ code: 'MANIFEST_BAD_ID', params: { id: m.id } });
  if (semver.valid(m.version) !== m.version)
    problems.push({ code: 'MANIFEST_BAD_VERSION', params: { version: m.version } });
  if (!isRange(m.powerx))
    problems.push({ code: 'MANIFEST_BAD_RANGE', params: { field: 'powerx', range: m.powerx } });
  for (const field of ['requires', 'conflicts'] as const) {
    for (const [id, range] of Object.entries(m[field] ?? {})) {
      if (!ID_RE.test(id))
        problems.push({
          code: 'MANIFEST_BAD_ID',
          params: { id },
          hint: `Keys of "${field}" are plugin ids like com.example.plugin.base.`,
        });
      if (!isRange(range))
        problems.push({ code: 'MANIFEST_BAD_RANGE', params: { field: `${field}.${id}`, range } });
    }
  }
  if (!(RUNTIME_KINDS as readonly string[]).includes(m.runtime.kind))
    problems.push({ code: 'MANIFEST_RUNTIME_UNKNOWN', params: { kind: m.runtime.kind } });

  const pointers: Array<{ field: string; path: string | undefined; dir?: boolean; hint: string }> = [
    {
      field: 'runtime.entry',
      path: m.runtime.entry,
      hint: 'Check runtime.entry in plugin.yaml and that the build wrote that file.',
    },
    {
      field: 'sandbox.seed',
      path: m.sandbox?.seed,
      hint: 'Check sandbox.seed in plugin.yaml and that the build wrote that file.',
    },
    {
      field: 'admin.staticDir',
      path: m.admin?.staticDir,
      dir: true,
      hint: 'Check admin.staticDir in plugin.yaml and that the admin build wrote files there.',
    },
  ];
  for (const { field, path, dir, hint } of pointers) {
    if (path === undefined) continue;
    const checked = checkEntryPath(path, 1024);
    if (!checked.ok || checked.path === '') {
      problems.push({
        code: 'MANIFEST_INVALID',
        params: { detail: `${field} "${path}" must be a relative path inside the package` },
      });
      continue;
    }
    if (!files) continue;
    const present = dir ? [...files].some((f) => f.startsWith(`${checked.path}/`)) : files.has(checked.path);
    if (!present)
      problems.push({ code: 'MANIFEST_ENTRY_MISSING', params: { field, path: checked.path }, hint });
  }

  const dupes = (names: string[]) => names.filter((n, i) => names.indexOf(n) !== i);
  const envNames = (m.config?.env ?? []).map((e) => e.name);
  const secretNames = (m.config?.secrets ?? []).map((s) => s.name);
  for (const name of new Set(dupes([...envNames, ...secretNames]))) {
    problems.push({
      code: 'MANIFEST_INVALID',
      params: {
        detail: `config name ${name} is declared more than once (env and secrets share one namespace)`,
      },
    });
  }
  for (const env of m.config?.env ?? []) {
    if (env.type === 'enum' && !env.enum?.length)
      problems.push({
        code: 'MANIFEST_INVALID',
        params: { detail: `config.env ${env.name} has type enum but no "enum" values` },
      });
    if (env.default !== undefined && !defaultFits(env)) {
      problems.push({
        code: 'MANIFEST_INVALID',
        params: {
          detail: `config.env ${env.name}: default ${JSON.stringify(env.default)} is not a ${env.type ?? 'string'}`,
        },
      });
    }
  }
  for (const name of new Set(dupes((m.sandbox?.testData ?? []).map((t) => t.collection)))) {
    problems.push({
      code: 'MANIFEST_INVALID',
      params: { detail: `sandbox.testData collection ${name} is declared more than once` },
    });
  }
  return problems;
}

function isRange(range: string): boolean {
  return typeof range === 'string' && range.trim() !== '' && semver.validRange(range) !== null;
}

function defaultFits(env: { type?: string; enum?: string[]; default?: string | number | boolean }): boolean {
  const type = env.type ?? 'string';
  if (type === 'enum') return typeof env.default === 'string' && (env.enum ?? []).includes(env.default);
  return typeof env.default === type;
}

// ---------------------------------------------------------------------------------------------
// Check records, shared with the validator

export function passedCheck(id: CheckId, message: string, started: number): ValidationCheck {
  return { id, title: CHECK_TITLES[id], ok: true, message, durationMs: elapsed(started) };
}

/** A failed check: the first problem gives the code and hint; the message lists every problem. */
export function failedCheck(id: CheckId, problems: ManifestProblem[], started: number): ValidationCheck {
  const [first] = problems;
  const messages = problems.map((p) => fillTemplate(ERROR_CODES[p.code].message, p.params));
  const message =
    messages.length === 1
      ? messages[0]
      : `${messages[0]} (and ${messages.length - 1} more: ${messages.slice(1).join('; ')})`;
  return {
    id,
    title: CHECK_TITLES[id],
    ok: false,
    code: first.code,
    message,
    hint: first.hint ?? fillTemplate(ERROR_CODES[first.code].hint, first.params),
    durationMs: elapsed(started),
  };
}

/**
 * A check that could not run because an earlier one failed. It is listed (ok: false, no code)
 * so every report has the same shape; its message always starts with "Not run: ".
 */
export function notRunCheck(id: CheckId, because: string): ValidationCheck {
  return {
    id,
    title: CHECK_TITLES[id],
    ok: false,
    message: `Not run: ${because}.`,
    hint: 'Fix the failure reported above, then validate again.',
    durationMs: 0,
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Project source

/**
 * Reads a plugin project's manifest (plugin.yaml, else manifest.json), checks it (schema and
 * semantics, not file presence: the build has not run yet) and returns it normalized.
 * Throws PackageError: PROJECT_NOT_FOUND, MANIFEST_NOT_YAML, MANIFEST_NOT_JSON, MANIFEST_*.
 */
export async function readManifestSource(projectDir: string): Promise<Manifest> {
  const raw = await readSourceFile(projectDir);
  const { checks, manifest } = checkManifest(raw);
  if (manifest) return manifest;
  const failed = checks.find((c) => !c.ok && c.code)!;
  throw new PackageError(failed.code as ErrorCode, {}, { message: failed.message, hint: failed.hint });
}

async function readSourceFile(projectDir: string): Promise<unknown> {
  const yamlPath = join(projectDir, 'plugin.yaml');
  const yamlText = await readFile(yamlPath, 'utf8').catch(notFoundAsUndefined);
  if (yamlText !== undefined) {
    try {
      return parseYaml(yamlText, { prettyErrors: true, uniqueKeys: true });
    } catch (err) {
      const detail =
        err instanceof YAMLParseError
          ? `line ${err.linePos?.[0].line ?? '?'}: ${err.message.split('\n')[0]}`
          : (err as Error).message;
      throw new PackageError('MANIFEST_NOT_YAML', { detail }, { cause: err });
    }
  }
  const jsonText = await readFile(join(projectDir, 'manifest.json'), 'utf8').catch(notFoundAsUndefined);
  if (jsonText === undefined) throw new PackageError('PROJECT_NOT_FOUND', { dir: projectDir });
  try {
    return JSON.parse(jsonText);
  } catch (err) {
    throw new PackageError('MANIFEST_NOT_JSON', { detail: (err as Error).message }, { cause: err });
  }
}

function notFoundAsUndefined(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
}
