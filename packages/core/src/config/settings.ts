/**
 * Parsers for core's settings. Each checks one raw value (an environment string or a startCore
 * option) and either returns it typed or throws CORE_CONFIG_INVALID naming the variable, what is
 * wrong and how to fix it. `undefined` (unset or empty) means "use the default".
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PxError } from '@powerx/protocol';

export type Raw = string | number | boolean | undefined;

export function coreConfigError(name: string, value: unknown, detail: string, fix: string): PxError {
  // The value is echoed unless it is a secret (the master key and the admin password never are).
  const secret = name === 'PX_MASTER_KEY' || name === 'PX_ADMIN_PASSWORD';
  const shown = secret || value === undefined ? '' : ` (${JSON.stringify(String(value))})`;
  return new PxError('CORE_CONFIG_INVALID', { name, detail: `${detail}${shown}`, fix }, {});
}

function unset(raw: Raw): raw is undefined {
  return raw === undefined || raw === '';
}

/** An integer in [min, max]. */
export function intSetting(
  name: string,
  raw: Raw,
  min: number,
  max: number,
  fix: string,
): number | undefined {
  if (unset(raw)) return undefined;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw coreConfigError(name, raw, `must be a whole number from ${min} to ${max}`, fix);
  return n;
}

/** A number > 0 (fractions allowed). */
export function positiveSetting(name: string, raw: Raw, fix: string): number | undefined {
  if (unset(raw)) return undefined;
  const n =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw)
        ? Number(raw)
        : NaN;
  if (!Number.isFinite(n) || n <= 0) throw coreConfigError(name, raw, 'must be a number greater than 0', fix);
  return n;
}

/** 1 (on) or 0 (off); a boolean option is taken as is. */
export function flagSetting(name: string, raw: Raw): boolean | undefined {
  if (unset(raw)) return undefined;
  if (typeof raw === 'boolean') return raw;
  if (raw !== '0' && raw !== '1')
    throw coreConfigError(name, raw, 'must be 1 (on) or 0 (off)', `Set ${name}=1 or ${name}=0, or unset it.`);
  return raw === '1';
}

/** One of a fixed list of words. */
export function oneOfSetting<T extends string>(
  name: string,
  raw: Raw,
  allowed: readonly T[],
  fix: string,
): T | undefined {
  if (unset(raw)) return undefined;
  if (!(allowed as readonly Raw[]).includes(raw))
    throw coreConfigError(name, raw, `must be one of ${allowed.join(', ')}`, fix);
  return raw as T;
}

/** Free text (a host name, a path, a password). */
export function textSetting(raw: Raw): string | undefined {
  return unset(raw) ? undefined : String(raw);
}

/** 32 bytes as 64 hex characters or base64 (as `openssl rand -base64 32` prints). */
export function parseMasterKey(raw: string): Buffer {
  if (/^[0-9a-f]{64}$/i.test(raw)) return Buffer.from(raw, 'hex');
  const trimmed = raw.trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || /^[A-Za-z0-9_-]+$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === 32) return key;
  }
  throw coreConfigError(
    'PX_MASTER_KEY',
    raw,
    'must be 32 bytes written as 64 hex characters or base64',
    'Generate one with `openssl rand -base64 32`, or unset PX_MASTER_KEY to use <data dir>/master.key (created on first start). Keep the same key: secrets stored with another key cannot be read.',
  );
}

/** The data folder must exist and be writable, or be creatable under a writable parent. */
export function checkDataDir(dir: string): void {
  const fix = 'Point PX_DATA_DIR at a folder core may create and write (default ./.px-data).';
  let probe = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(probe);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(probe) !== probe) {
        probe = dirname(probe);
        continue;
      }
      throw coreConfigError('PX_DATA_DIR', dir, `cannot use ${probe}: ${code}`, fix);
    }
    if (!st.isDirectory()) throw coreConfigError('PX_DATA_DIR', dir, `${probe} is not a folder`, fix);
    try {
      accessSync(probe, constants.W_OK | constants.X_OK);
    } catch {
      throw coreConfigError('PX_DATA_DIR', dir, `${probe} is not writable`, fix);
    }
    return;
  }
}
