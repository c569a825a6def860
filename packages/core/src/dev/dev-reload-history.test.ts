import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DevReloadEntry } from '@powerx/protocol';
import { openTestDatabase, TEST_DIALECTS, type TestDatabase } from '../storage/test-databases.ts';
import { DevReloadHistory, MAX_PER_PLUGIN } from './dev-reload-history.ts';

const silent = { warn: () => {} };
const P = 'com.example.p';

function running(id: string, at: string): DevReloadEntry {
  return { id, at, version: '1.0.0', installId: `in_${id}`, durationMs: 120, result: 'running' };
}

let store: TestDatabase;

describe.each(TEST_DIALECTS)('dev reload history on %s', (dialect) => {
  beforeEach(async () => {
    store = await openTestDatabase(dialect);
  });
  afterEach(async () => {
    await store.close();
  });

  it('lists the reloads recorded through any node, newest first, with the rollback reason', async () => {
    const nodeA = new DevReloadHistory(store.db, silent);
    const nodeB = new DevReloadHistory(store.db, silent);
    await nodeA.record('t', P, running('dr_1', '2026-01-01T00:00:01.000Z'));
    await nodeA.record('t', P, {
      id: 'dr_2',
      at: '2026-01-01T00:00:02.000Z',
      version: '1.0.1',
      installId: 'in_2',
      durationMs: 300,
      result: 'failed',
      rollback: {
        code: 'HEALTH_CHECK_FAILED',
        stage: 'health_check',
        message: 'no answer',
        hint: 'look at the logs',
        serving: { version: '1.0.0', installId: 'in_dr_1' },
        restored: false,
      },
    });
    const listed = await nodeB.list('t', P);
    expect(listed.map((e) => e.id)).toEqual(['dr_2', 'dr_1']);
    expect(listed[0]).toEqual({
      id: 'dr_2',
      at: '2026-01-01T00:00:02.000Z',
      version: '1.0.1',
      installId: 'in_2',
      durationMs: 300,
      result: 'failed',
      rollback: {
        code: 'HEALTH_CHECK_FAILED',
        stage: 'health_check',
        message: 'no answer',
        hint: 'look at the logs',
        serving: { version: '1.0.0', installId: 'in_dr_1' },
        restored: false,
      },
    });
    expect(listed[1]).toEqual(running('dr_1', '2026-01-01T00:00:01.000Z'));
    expect(await nodeB.list('t', 'other')).toEqual([]);
    expect(await nodeB.list('t2', P)).toEqual([]);
  });

  it('updates the entry of a reload that crashed after its switch in place, whichever node records it', async () => {
    const nodeA = new DevReloadHistory(store.db, silent);
    const nodeB = new DevReloadHistory(store.db, silent);
    await nodeA.record('t', P, running('dr_1', '2026-01-01T00:00:01.000Z'));
    await nodeA.record('t', P, running('dr_2', '2026-01-01T00:00:02.000Z'));
    await nodeB.record('t', P, {
      id: 'dr_1',
      at: '2026-01-01T00:00:09.000Z',
      durationMs: 900,
      result: 'rolled_back',
      rollback: { code: 'DEV_CRASHED_AFTER_SWITCH', message: 'boom', hint: 'fix it', restored: true },
    });
    const listed = await nodeA.list('t', P);
    expect(listed.map((e) => [e.id, e.result])).toEqual([
      ['dr_2', 'running'],
      ['dr_1', 'rolled_back'],
    ]);
    // Its place and time stay; what the update does not carry (version, install) stays too.
    expect(listed[1]).toEqual({
      id: 'dr_1',
      at: '2026-01-01T00:00:01.000Z',
      version: '1.0.0',
      installId: 'in_dr_1',
      durationMs: 900,
      result: 'rolled_back',
      rollback: { code: 'DEV_CRASHED_AFTER_SWITCH', message: 'boom', hint: 'fix it', restored: true },
    });
  });

  it(`keeps the last ${MAX_PER_PLUGIN} reloads per plugin, the other plugins untouched`, async () => {
    const history = new DevReloadHistory(store.db, silent);
    await history.record('t', 'other', running('dr_other', '2026-01-01T00:00:00.000Z'));
    for (let i = 0; i < MAX_PER_PLUGIN + 5; i++)
      await history.record('t', P, running(`dr_${i}`, new Date(Date.UTC(2026, 0, 1, 0, 1, i)).toISOString()));
    const listed = await history.list('t', P);
    expect(listed).toHaveLength(MAX_PER_PLUGIN);
    expect(listed[0].id).toBe(`dr_${MAX_PER_PLUGIN + 4}`);
    expect(listed.at(-1)!.id).toBe('dr_5');
    const rows = await store.db
      .selectFrom('dev_reloads')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('plugin_id', '=', P)
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(MAX_PER_PLUGIN);
    expect((await history.list('t', 'other')).map((e) => e.id)).toEqual(['dr_other']);
  });

  it("names the tenant's plugins with a history, the one reloaded last first", async () => {
    const history = new DevReloadHistory(store.db, silent);
    await history.record('t', 'a', running('dr_1', '2026-01-01T00:00:01.000Z'));
    await history.record('t', 'b', running('dr_2', '2026-01-01T00:00:02.000Z'));
    await history.record('u', 'c', running('dr_3', '2026-01-01T00:00:03.000Z'));
    expect(await history.pluginsOf('t')).toEqual(['b', 'a']);
    await history.record('t', 'a', running('dr_4', '2026-01-01T00:00:04.000Z'));
    expect(await history.pluginsOf('t')).toEqual(['a', 'b']);
    expect(await history.pluginsOf('nobody')).toEqual([]);
  });

  it("imports an older core's dev-reloads.json once, in its order, and renames the file", async () => {
    const file = join(store.dir, 'dev-reloads.json');
    const saved = {
      [`t\0${P}`]: [
        {
          id: 'dr_new',
          at: '2026-01-01T00:00:02.000Z',
          result: 'build_failed',
          rollback: { code: 'BUILD_FAILED', stage: 'build', message: 'x', hint: 'y', restored: false },
        },
        running('dr_old', '2026-01-01T00:00:01.000Z'),
      ],
      [`t\0other`]: [running('dr_o', '2026-01-01T00:00:00.000Z')],
    };
    await writeFile(file, JSON.stringify(saved));
    const history = new DevReloadHistory(store.db, silent);
    await history.importLegacyFile(file);
    expect(await history.list('t', P)).toEqual(saved[`t\0${P}`]);
    expect(await history.pluginsOf('t')).toEqual([P, 'other']);
    expect((await readdir(store.dir)).filter((f) => f.startsWith('dev-reloads'))).toEqual([
      'dev-reloads.json.imported',
    ]);
    // A new reload comes after the imported ones; a second file with the same entries adds nothing.
    await history.record('t', P, running('dr_next', '2026-01-01T00:00:03.000Z'));
    await writeFile(file, JSON.stringify(saved));
    await history.importLegacyFile(file);
    expect((await history.list('t', P)).map((e) => e.id)).toEqual(['dr_next', 'dr_new', 'dr_old']);
  });

  it('starts without the file, and renames a torn one without importing it', async () => {
    const history = new DevReloadHistory(store.db, silent);
    const file = join(store.dir, 'dev-reloads.json');
    await history.importLegacyFile(file);
    await writeFile(file, '{"t\\u0000p": [{"id":');
    await history.importLegacyFile(file);
    expect(await history.pluginsOf('t')).toEqual([]);
    expect((await readdir(store.dir)).filter((f) => f.startsWith('dev-reloads'))).toEqual([
      'dev-reloads.json.imported',
    ]);
  });

  it('skips entries of the file that are not reloads, and keeps the valid ones', async () => {
    const history = new DevReloadHistory(store.db, silent);
    const file = join(store.dir, 'dev-reloads.json');
    const valid = { ...running('dr_ok', '2026-01-01T00:00:01.000Z'), durationMs: 12.6 };
    await writeFile(
      file,
      JSON.stringify({
        [`t\0${P}`]: [{ id: 'dr_bad', at: 5 }, valid],
        'no-separator': [valid],
        [`t\0q`]: 'x',
      }),
    );
    await history.importLegacyFile(file);
    expect(await history.list('t', P)).toEqual([{ ...valid, durationMs: 13 }]);
    expect(await history.pluginsOf('t')).toEqual([P]);
  });
});
