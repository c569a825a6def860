/**
 * "The disk is full" in one place. The file system says ENOSPC (or EDQUOT when a quota is hit),
 * SQLite says SQLITE_FULL; whichever layer hits it, the user gets DISK_FULL (HTTP 507) with a hint
 * that it is about space, not a bug in PowerX.
 */
import { PxError, isPxError } from '@powerx/protocol';

const SQLITE_FULL = 13;

/** True for ENOSPC/EDQUOT and SQLITE_FULL, also when wrapped as the `cause` of another error. */
export function isDiskFull(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (isPxError(e)) return e.code === 'DISK_FULL';
    const { code, errcode } = e as { code?: unknown; errcode?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    if (typeof errcode === 'number' && (errcode & 0xff) === SQLITE_FULL) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The DISK_FULL error for `error` (returned as is when it already is one). */
export function diskFullError(error: unknown, operation: string, path = 'the data folder'): PxError {
  if (isPxError(error) && error.code === 'DISK_FULL') return error;
  return new PxError('DISK_FULL', { operation, path }, { cause: error });
}

/** Runs `fn`; a full disk becomes DISK_FULL for `operation`, anything else passes through. */
export async function mapDiskFull<T>(
  operation: string,
  path: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isDiskFull(error)) throw diskFullError(error, operation, path);
    throw error;
  }
}
