import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, TEST_DIALECTS, type TestDatabase } from '../storage/test-databases.ts';
import { PluginStorage } from './plugin-storage.ts';

let store: TestDatabase;
let storage: PluginStorage;

describe.each(TEST_DIALECTS)('plugin storage on %s', (dialect) => {
  beforeEach(async () => {
    store = await openTestDatabase(dialect);
    storage = new PluginStorage(store.db);
  });
  afterEach(async () => {
    await store.close();
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
