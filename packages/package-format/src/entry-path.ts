import type { ErrorCode } from '@powerx/protocol';

export type PathCheck =
  { ok: true; path: string } | { ok: false; code: ErrorCode; params: Record<string, unknown> };

/**
 * Decides whether a path from a tar header (or a file found in a package folder) may exist in a
 * package, and returns its canonical form: relative, "/"-separated, no "./", no trailing "/".
 * The empty string means the package root itself ("." or "./"), which callers skip.
 * Refused: absolute paths (POSIX, Windows drive or UNC), any ".." segment, backslashes, empty or
 * "." segments inside the path, control characters, undecodable UTF-8, and over-long paths.
 */
export function checkEntryPath(raw: string, maxPathLength: number): PathCheck {
  const shown = printable(raw);
  if (raw.startsWith('/') || raw.startsWith('\\') || /^[A-Za-z]:/.test(raw)) {
    return { ok: false, code: 'PXP_ABSOLUTE_PATH', params: { path: shown } };
  }
  if (raw.split(/[\\/]/).includes('..'))
    return { ok: false, code: 'PXP_PATH_TRAVERSAL', params: { path: shown } };
  let path = raw;
  while (path.startsWith('./')) path = path.slice(2);
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '' || path === '.') return { ok: true, path: '' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\\ufffd]/.test(path) || path.split('/').some((s) => s === '' || s === '.')) {
    return { ok: false, code: 'PXP_BAD_PATH', params: { path: shown } };
  }
  const length = Buffer.byteLength(path, 'utf8');
  if (length > maxPathLength)
    return { ok: false, code: 'PXP_PATH_TOO_LONG', params: { length, limit: maxPathLength } };
  return { ok: true, path };
}

/** A path safe to put in a message: control characters shown as escapes, long ones cut. */
export function printable(path: string): string {
  const escaped = path.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return escaped.length > 300 ? `${escaped.slice(0, 300)}…` : escaped;
}
