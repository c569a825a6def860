/**
 * The start-up check of the embedded database, before anything reads or writes it: the file must
 * open as SQLite and pass `PRAGMA quick_check`. A damaged file stops core with DATABASE_CORRUPT,
 * naming the file and how to restore, instead of SQLite's bare "file is not a database" somewhere
 * in the middle of crash recovery.
 */
import { existsSync, statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { PxError } from '@powerx/protocol';
import { diskFullError, isDiskFull } from './disk-full.ts';

const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/** SQLite's own verdict that the file is damaged or not a database (not: locked, no permission). */
export function isCorruption(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown })?.errcode;
  return typeof errcode === 'number' && [SQLITE_CORRUPT, SQLITE_NOTADB].includes(errcode & 0xff);
}

export function databaseCorrupt(file: string, detail: string, cause?: unknown): PxError {
  return new PxError('DATABASE_CORRUPT', { file, detail }, { cause });
}

export function assertDatabaseHealthy(file: string): void {
  // A missing or empty file is a new data folder: nothing to check yet.
  if (!existsSync(file) || statSync(file).size === 0) return;
  let database: DatabaseSync | undefined;
  try {
    database = new DatabaseSync(file);
    const rows = database.prepare('PRAGMA quick_check').all() as Array<Record<string, unknown>>;
    const problems = rows.map((r) => String(Object.values(r)[0])).filter((v) => v !== 'ok');
    if (problems.length)
      throw databaseCorrupt(
        file,
        `quick_check found ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}`,
      );
  } catch (error) {
    if (error instanceof PxError) throw error;
    if (isDiskFull(error)) throw diskFullError(error, 'opening the database', file);
    if (isCorruption(error)) throw databaseCorrupt(file, (error as Error).message, error);
    throw error;
  } finally {
    if (database?.isOpen) database.close();
  }
}
