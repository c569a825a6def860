import { SUMS_PATH } from './package-layout.ts';

/**
 * `_pxp/SHA256SUMS` in the format `sha256sum -c` reads: "<64 lower-case hex>  <path>\n", one line
 * per file, sorted by path (byte order), LF line ends. Paths that sha256sum would escape
 * (backslash, newline) never reach here: the packer refuses such names.
 */

export interface SumsEntry {
  path: string;
  sha256: string;
}

/** Byte-order comparison of UTF-8 paths, the same on every machine and locale. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function formatSums(entries: SumsEntry[]): Buffer {
  const sorted = [...entries].sort((x, y) => comparePaths(x.path, y.path));
  return Buffer.from(sorted.map((e) => `${e.sha256}  ${e.path}\n`).join(''), 'utf8');
}

export type ParsedSums =
  { ok: true; entries: Map<string, string> } | { ok: false; line: number; detail: string };

const LINE = /^([0-9a-f]{64}) [ *](.+)$/;

/**
 * Strict parse: every line well-formed, no duplicates, LF-terminated. Binary-mode markers ("*")
 * are accepted because sha256sum writes them on some systems; they mean the same bytes here.
 */
export function parseSums(bytes: Buffer): ParsedSums {
  const text = bytes.toString('utf8');
  if (text.length === 0) return { ok: true, entries: new Map() };
  if (!text.endsWith('\n'))
    return { ok: false, line: text.split('\n').length, detail: 'the last line has no line end' };
  const lines = text.slice(0, -1).split('\n');
  const entries = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const m = LINE.exec(lines[i]);
    if (!m) return { ok: false, line: i + 1, detail: 'expected "<64 hex>  <path>"' };
    const path = m[2].startsWith('./') ? m[2].slice(2) : m[2];
    if (path === SUMS_PATH) return { ok: false, line: i + 1, detail: 'SHA256SUMS cannot list itself' };
    if (entries.has(path)) return { ok: false, line: i + 1, detail: `"${path}" is listed twice` };
    entries.set(path, m[1]);
  }
  return { ok: true, entries };
}
