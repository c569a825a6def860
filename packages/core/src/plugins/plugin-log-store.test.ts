import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { PluginLogLine } from '@powerx/runtime';
import { openSqliteDatabase } from '../storage/open-database.ts';
import type { Db } from '../storage/schema.ts';
import { PluginLogStore } from './plugin-log-store.ts';

let tmp: string | undefined;
let db: Db | undefined;
afterEach(async () => {
  await db?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const line = (msg: string): PluginLogLine => ({
  ts: new Date().toISOString(),
  tenant: 'sandbox-dev',
  plugin: 'com.example.chatty',
  version: '1.0.0',
  instance: 'i-1',
  level: 'info',
  msg,
  source: 'sdk',
});

async function openDb(): Promise<Db> {
  tmp = await mkdtemp(join(tmpdir(), 'px-logstore-'));
  db = await openSqliteDatabase(join(tmp, 'core.db'));
  return db;
}

describe('plugin log store', () => {
  it('warns with the number of lost lines when a batch cannot be written (full database), instead of dropping it silently', async () => {
    const database = await openDb();
    const warnings: Array<{ details: { linesLost: number; code?: string }; msg: string }> = [];
    const store = new PluginLogStore(database, { warn: (details, msg) => warnings.push({ details, msg }) });
    store.write(line('kept'));
    await store.flush();
    // The database may not grow any more: the next batch fails with SQLITE_FULL, like on a full disk.
    const pages = await sql<{ page_count: number }>`PRAGMA page_count`.execute(database);
    await sql.raw(`PRAGMA max_page_count = ${pages.rows[0].page_count}`).execute(database);
    for (let i = 0; i < 300; i++) store.write(line(`lost ${i} ${'x'.repeat(500)}`));
    await store.flush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      details: { linesLost: 300, code: 'DISK_FULL' },
      msg: 'plugin log lines were not stored: the disk is full',
    });
    // A disk that stays full does not turn every batch into a warning; the count keeps adding up.
    store.write(line('also lost'));
    await store.flush();
    expect(warnings).toHaveLength(1);
    await sql.raw('PRAGMA max_page_count = 1073741823').execute(database);
    const stored = (await store.query('sandbox-dev', 'com.example.chatty', {})).lines.map((l) => l.msg);
    expect(stored[0]).toBe('kept');
    expect(stored.some((m) => m.startsWith('lost '))).toBe(false);
  });
});
