/**
 * The audit key: 32 bytes that key the audit chain's hashes (audit/audit-hash.ts). It must not
 * live in the data folder, or whoever can rewrite core.db could also recompute the chain.
 *
 * Where it comes from, first match wins:
 *   PX_AUDIT_KEY (or the auditKey option)           64 hex characters or base64 of 32 bytes
 *   PX_AUDIT_KEY_FILE (or the auditKeyFile option)  a file holding that; must exist
 *   default: `<data dir>.audit-key`, beside (not in) the data folder, generated on first start.
 * A key file inside the data folder (also through a symlink) is refused.
 */
import { randomBytes } from 'node:crypto';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { coreConfigError } from './settings.ts';

export interface AuditKeySetting {
  /** The key given directly (PX_AUDIT_KEY); never echoed in errors. */
  raw?: string;
  /** The key file (PX_AUDIT_KEY_FILE), or the default one when `explicit` is false. */
  file: string;
  explicit: boolean;
}

export interface AuditKey {
  key: Buffer;
  /** Where it was read from ("PX_AUDIT_KEY" or a file path), and whether core just made it. */
  source: string;
  generated: boolean;
}

const FIX =
  'Give the audit key as PX_AUDIT_KEY (64 hex characters, or `openssl rand -base64 32`) or PX_AUDIT_KEY_FILE (a file holding one) outside the data folder, or unset both to use <data dir>.audit-key.';

export function parseKey32(name: string, raw: string): Buffer {
  const trimmed = raw.trim();
  if (/^[0-9a-f]{64}$/i.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || /^[A-Za-z0-9_-]+$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === 32) return key;
  }
  throw coreConfigError(name, undefined, 'must be 32 bytes written as 64 hex characters or base64', FIX);
}

export function auditKeySetting(
  options: { auditKey?: string; auditKeyFile?: string },
  env: NodeJS.ProcessEnv,
  dataDir: string,
): AuditKeySetting {
  const raw = options.auditKey ?? env.PX_AUDIT_KEY;
  if (raw) parseKey32('PX_AUDIT_KEY', raw);
  const given = options.auditKeyFile ?? env.PX_AUDIT_KEY_FILE;
  const file = resolve(given ?? `${dataDir.replace(/\/+$/, '')}.audit-key`);
  if (isWithin(file, dataDir))
    throw coreConfigError('PX_AUDIT_KEY_FILE', file, 'is inside the data folder', FIX);
  return { ...(raw ? { raw } : {}), file, explicit: given !== undefined };
}

function isWithin(path: string, dir: string): boolean {
  const d = resolve(dir);
  return path === d || path.startsWith(`${d}/`);
}

/** Reads (or, for the default file, creates) the key; called once the data folder exists. */
export async function loadAuditKey(setting: AuditKeySetting, dataDir: string): Promise<AuditKey> {
  if (setting.raw)
    return { key: parseKey32('PX_AUDIT_KEY', setting.raw), source: 'PX_AUDIT_KEY', generated: false };
  const name = setting.explicit ? 'PX_AUDIT_KEY_FILE' : 'the default audit key file';
  let text: string | undefined;
  try {
    text = await readFile(setting.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || setting.explicit)
      throw coreConfigError('PX_AUDIT_KEY_FILE', setting.file, `cannot read it: ${code}`, FIX);
  }
  // Checked on the real paths: a link from outside into the data folder does not pass either.
  const [realFile, realData] = await Promise.all([
    realpath(text === undefined ? dirname(setting.file) : setting.file),
    realpath(dataDir),
  ]);
  if (isWithin(realFile, realData))
    throw coreConfigError('PX_AUDIT_KEY_FILE', setting.file, 'is inside the data folder', FIX);
  if (text !== undefined) return { key: parseKey32(name, text), source: setting.file, generated: false };
  const key = randomBytes(32);
  await writeFile(setting.file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return { key, source: setting.file, generated: true };
}
