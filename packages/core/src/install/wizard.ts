/**
 * The install wizard: derived from the manifest's config section. Env values are checked against
 * their declared types (strings from forms and CLI flags are coerced), defaults applied, required
 * ones enforced; secrets are only checked for presence here and sealed by the pipeline.
 */
import { InputError, LOG_LEVELS, type LogLevel, type Manifest } from '@powerx/protocol';
import type { InstallConfig, Wizard } from '@powerx/protocol';

export interface ResolvedConfig {
  env: Record<string, string | number | boolean>;
  secrets: Record<string, string>;
  logLevel: LogLevel;
  /** Required names (env or secret) still without a value. */
  missing: string[];
  /**
   * Env names whose value the developer set (wizard, --env, a value carried over from an earlier
   * explicit one). The others came from the manifest default, and follow it when it changes.
   */
  explicitEnv: string[];
}

export function wizardOf(manifest: Manifest): Wizard {
  return {
    env: manifest.config.env.map((e) => ({ ...e })),
    secrets: manifest.config.secrets.map((s) => ({ ...s })),
    logLevel: manifest.config.logLevel as Wizard['logLevel'],
  };
}

function coerce(
  spec: Manifest['config']['env'][number],
  raw: string | number | boolean,
): string | number | boolean {
  const fail = (detail: string): never => {
    throw new InputError('CONFIG_INVALID', {
      name: spec.name,
      detail,
      type: spec.type === 'enum' ? `one of ${(spec.enum ?? []).join(', ')}` : spec.type,
    });
  };
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') fail(`expected a string, got ${typeof raw}`);
      return raw;
    case 'number': {
      if (typeof raw === 'number') return Number.isFinite(raw) ? raw : fail('not a finite number');
      if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
      return fail(`"${String(raw).slice(0, 40)}" is not a number`);
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      return fail(`"${String(raw).slice(0, 40)}" is not true or false`);
    case 'enum': {
      const value = String(raw);
      if (!(spec.enum ?? []).includes(value))
        fail(`"${value.slice(0, 40)}" is not one of ${(spec.enum ?? []).join(', ')}`);
      return value;
    }
  }
}

/**
 * Merges the submitted values over `previous` (an earlier submission or the running config) and
 * the manifest defaults. Unknown names are refused, so a typo does not silently do nothing.
 */
/**
 * The config of an install: the input (wizard / --env), then what `previous` carries over, then
 * the manifest's defaults. Env rule (dev reloads, reconfigure): a value carries over only if the
 * developer set it explicitly; a value that only came from a default follows the new default.
 * An input value equal to the manifest's default counts as "the default" (the wizard pre-fills
 * defaults, and leaving one untouched must not pin it). `previous.explicitEnv` undefined means
 * "unknown": every previous value is treated as explicit (the old rule).
 */
export function resolveConfig(
  manifest: Manifest,
  input: InstallConfig,
  previous?: {
    env: Record<string, string | number | boolean>;
    secrets: Record<string, string>;
    logLevel?: LogLevel;
    explicitEnv?: string[];
  },
): ResolvedConfig {
  const envSpecs = new Map(manifest.config.env.map((e) => [e.name, e]));
  const secretSpecs = new Map(manifest.config.secrets.map((s) => [s.name, s]));
  for (const name of Object.keys(input.env ?? {})) {
    if (!envSpecs.has(name))
      throw new InputError(
        'CONFIG_INVALID',
        { name, detail: 'the plugin does not declare this env variable', type: 'declared name' },
        { hint: `Declared env variables: ${[...envSpecs.keys()].join(', ') || 'none'}.` },
      );
  }
  for (const name of Object.keys(input.secrets ?? {})) {
    if (!secretSpecs.has(name))
      throw new InputError(
        'CONFIG_INVALID',
        { name, detail: 'the plugin does not declare this secret', type: 'declared name' },
        { hint: `Declared secrets: ${[...secretSpecs.keys()].join(', ') || 'none'}.` },
      );
  }
  const env: ResolvedConfig['env'] = {};
  const missing: string[] = [];
  const explicitEnv: string[] = [];
  for (const spec of manifest.config.env) {
    const given = input.env?.[spec.name];
    const carried =
      previous &&
      previous.env[spec.name] !== undefined &&
      (!previous.explicitEnv || previous.explicitEnv.includes(spec.name))
        ? previous.env[spec.name]
        : undefined;
    const raw = given ?? carried ?? spec.default;
    if (raw === undefined || raw === '') {
      if (spec.required) missing.push(spec.name);
      continue;
    }
    env[spec.name] = coerce(spec, raw);
    const fromInput = given !== undefined && !sameAsDefault(spec, env[spec.name]);
    if (fromInput || (given === undefined && carried !== undefined)) explicitEnv.push(spec.name);
  }
  const secrets: Record<string, string> = {};
  for (const spec of manifest.config.secrets) {
    const value = input.secrets?.[spec.name] ?? previous?.secrets[spec.name];
    if (value === undefined || value === '') {
      if (spec.required) missing.push(spec.name);
      continue;
    }
    if (typeof value !== 'string')
      throw new InputError('CONFIG_INVALID', {
        name: spec.name,
        detail: 'a secret must be a string',
        type: 'string',
      });
    secrets[spec.name] = value;
  }
  const logLevel = input.logLevel ?? previous?.logLevel ?? manifest.config.logLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new InputError('CONFIG_INVALID', {
      name: 'logLevel',
      detail: `"${String(logLevel)}" is not a log level`,
      type: LOG_LEVELS.join(' | '),
    });
  return { env, secrets, logLevel, missing, explicitEnv };
}

function sameAsDefault(spec: Manifest['config']['env'][number], value: string | number | boolean): boolean {
  if (spec.default === undefined) return false;
  try {
    return coerce(spec, spec.default) === value;
  } catch {
    return false;
  }
}

/**
 * For configs stored before explicit names were recorded: the values that differ from the
 * defaults of the manifest they were resolved against are the ones someone set.
 */
export function inferExplicitEnv(
  manifest: Manifest,
  env: Record<string, string | number | boolean>,
): string[] {
  return manifest.config.env
    .filter((spec) => env[spec.name] !== undefined && !sameAsDefault(spec, env[spec.name]))
    .map((spec) => spec.name);
}
