/**
 * `px-plugin install --config <file>` and `--log-level`: read and check the wizard values before
 * anything is uploaded. A file that is not YAML/JSON, or not an object of {env, secrets, logLevel},
 * is a CONFIG_INVALID naming the file (it used to be an INTERNAL error, or silently ignored).
 * The shape is InstallConfigSchema of @powerx/protocol, the one the core checks too.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Compile } from 'typebox/compile';
import {
  InputError,
  InstallConfigSchema,
  LOG_LEVELS,
  PxError,
  type InstallConfig,
  type LogLevel,
} from '@powerx/protocol';

const checkInstallConfig = Compile(InstallConfigSchema);
const SHAPE =
  'an object with env (NAME: value), secrets (NAME: value) and logLevel, e.g.\n  env:\n    GREETING: hello\n  secrets:\n    API_KEY: s3cret\n  logLevel: info';

function invalid(file: string, detail: string): InputError {
  return new InputError(
    'CONFIG_INVALID',
    { name: file, detail },
    {
      message: `--config file ${file} is invalid: ${detail}`,
      hint: `Write the file as YAML or JSON: ${SHAPE}`,
    },
  );
}

export async function readInstallConfigFile(file: string): Promise<InstallConfig> {
  const text = await readFile(resolve(file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new PxError(
      'USAGE',
      { detail: `config file ${file} cannot be read (${error.code ?? error.message})` },
      { hint: 'Check the path given to --config.' },
    );
  });
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    // YAML is a superset of JSON, so this covers both; the parser's message has line and column.
    throw invalid(file, `not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {}; // an empty file: no values
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalid(
      file,
      `the top level is ${Array.isArray(value) ? 'a list' : `a ${typeof value} (${JSON.stringify(value)})`}, not an object`,
    );
  const unknown = Object.keys(value).filter((k) => !['env', 'secrets', 'logLevel'].includes(k));
  if (unknown.length)
    throw invalid(
      file,
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (allowed: env, secrets, logLevel)`,
    );
  if (!checkInstallConfig.Check(value)) {
    const first = [...checkInstallConfig.Errors(value)][0] as
      { instancePath?: string; message?: string } | undefined;
    const where = first?.instancePath
      ? first.instancePath.replace(/^\//, '').replaceAll('/', '.')
      : 'the file';
    throw invalid(
      file,
      `${where}: ${first?.message ?? 'does not match'}${where === 'logLevel' ? ` (one of ${LOG_LEVELS.join(', ')})` : ''}`,
    );
  }
  return value as InstallConfig;
}

/** --log-level: one of the plugin log levels. */
export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value))
    throw new PxError(
      'USAGE',
      { detail: `--log-level ${JSON.stringify(value)} is not a log level` },
      { hint: `Use one of ${LOG_LEVELS.join(', ')}.` },
    );
  return value as LogLevel;
}
