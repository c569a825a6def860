import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, TEST_DIALECTS, type TestDatabase } from '../storage/test-databases.ts';
import { fileURLToPath } from 'node:url';
import { SandboxLimits } from '../limits/sandbox-limits.ts';
import { PluginStorage } from './plugin-storage.ts';
import { StorageMeter } from './storage-meter.ts';

const limitsFile = fileURLToPath(new URL('../../../../config/plugins/sandbox_limits.yaml', import.meta.url));

let store: TestDatabase;
let storage: PluginStorage;

describe.each(TEST_DIALECTS)('plugin storage on %s', (dialect) => {
  beforeEach(async () => {
    store = await openTestDatabase(dialect);
    storage = new PluginStorage(store.db, new StorageMeter(await SandboxLimits.load(limitsFile)));
  });
  afterEach(async () => {
    await store.close();
  });

  it('keeps the running byte count exact through inserts, updates, deletes and seeded data', async () => {
    const bytes = (doc: object) => Buffer.byteLength(JSON.stringify(doc));
    await storage.insert('t', 'p', 'c', { id: 'a', name: 'Ada', tags: ['x', 'é'] });
    expect(await storage.usage('t', 'p')).toBe(bytes({ id: 'a', name: 'Ada', tags: ['x', 'é'] }));
    await storage.update('t', 'p', 'c', 'a', { name: 'Ada Lovelace' });
    const updated = { id: 'a', name: 'Ada Lovelace', tags: ['x', 'é'] };
    expect(await storage.usage('t', 'p')).toBe(bytes(updated));
    await storage.insertMany(
      't',
      'p',
      'c',
      [
        { id: 's1', n: 1 },
        { id: 's2', n: 2 },
      ],
      'install-1',
    );
    expect(await storage.usage('t', 'p')).toBe(bytes(updated) + bytes({ id: 's1', n: 1 }) * 2);
    await storage.deleteSeededBy('install-1');
    expect(await storage.usage('t', 'p')).toBe(bytes(updated));
    expect(await storage.delete('t', 'p', 'c', 'a')).toBe(true);
    expect(await storage.usage('t', 'p')).toBe(0);
  });

  it('stores documents per tenant and plugin, invisible to the others', async () => {
    await storage.insert('t1', 'p', 'customers', { id: 'c1', name: 'Ada' });
    await storage.insert('t2', 'p', 'customers', { id: 'c1', name: 'Eve' });
    expect(await storage.get('t1', 'p', 'customers', 'c1')).toEqual({ id: 'c1', name: 'Ada' });
    expect(await storage.get('t1', 'other', 'customers', 'c1')).toBeUndefined();
    expect(await storage.count('t2', 'p', 'customers')).toBe(1);
  });

  it('filters on strings, numbers, booleans, null and nested values the same way', async () => {
    await storage.insertMany(
      't',
      'p',
      'items',
      [
        { id: 'a', kind: 'x', n: 1, vip: true, tags: ['red'], note: null },
        { id: 'b', kind: 'x', n: 2, vip: false, tags: ['blue'] },
        { id: 'c', kind: 'y', n: 1, vip: true, tags: ['red'], note: 'hi' },
      ],
      'install-1',
    );
    const ids = async (where: Record<string, unknown>) =>
      (await storage.find('t', 'p', 'items', { where })).map((d) => d.id).sort();
    expect(await ids({ kind: 'x' })).toEqual(['a', 'b']);
    expect(await ids({ n: 1 })).toEqual(['a', 'c']);
    expect(await ids({ vip: false })).toEqual(['b']);
    expect(await ids({ note: null })).toEqual(['a', 'b']);
    expect(await ids({ tags: ['red'] })).toEqual(['a', 'c']);
    expect(await ids({ kind: 'x', n: 2 })).toEqual(['b']);
    expect(await storage.count('t', 'p', 'items', { vip: true })).toBe(2);
  });

  it('treats a filter value as data, never as SQL', async () => {
    await storage.insert('t', 'p', 'items', { id: 'a', name: "O'Brien" });
    expect(await storage.find('t', 'p', 'items', { where: { name: "x' or '1'='1" } })).toEqual([]);
    expect((await storage.find('t', 'p', 'items', { where: { name: "O'Brien" } })).map((d) => d.id)).toEqual([
      'a',
    ]);
    await expect(storage.find('t', 'p', 'items', { where: { 'name->>0': 1 } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('updates, deletes and drops seeded documents and whole namespaces', async () => {
    await storage.insertMany('t', 'p', 'items', [{ id: 's1' }, { id: 's2' }], 'install-1');
    await storage.insert('t', 'p', 'items', { id: 'own', v: 1 });
    expect(await storage.update('t', 'p', 'items', 'own', { v: 2 })).toEqual({ id: 'own', v: 2 });
    expect(await storage.get('t', 'p', 'items', 'own')).toEqual({ id: 'own', v: 2 });
    await storage.deleteSeededBy('install-1');
    expect(await storage.count('t', 'p', 'items')).toBe(1);
    expect(await storage.delete('t', 'p', 'items', 'own')).toBe(true);
    expect(await storage.delete('t', 'p', 'items', 'own')).toBe(false);
    await storage.insert('t', 'p', 'items', { id: 'again' });
    await storage.dropNamespace('t', 'p');
    expect(await storage.hasAnyDocs('t', 'p')).toBe(false);
  });
});
