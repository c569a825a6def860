import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../storage/test-databases.ts';
import { InstallStore } from './install-store.ts';
import { recordUninstall, uninstallDropsData } from './uninstall-record.ts';

let store: TestDatabase;

beforeEach(async () => {
  store = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await store.close();
});

describe('the uninstall record', () => {
  it('says a data folder goes only after an uninstall that did not keep the data, with no install since', async () => {
    expect(await uninstallDropsData(store.db, 't', 'p')).toBeUndefined();
    await recordUninstall(store.db, 't', 'p', true);
    expect(await uninstallDropsData(store.db, 't', 'p')).toBe(false);
    await recordUninstall(store.db, 't', 'p', false);
    expect(await uninstallDropsData(store.db, 't', 'p')).toBe(true);

    // Installed again since (the folder is that install's business, whatever became of it).
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await new InstallStore(store.db).create({ kind: 'install', tenant: 't', actorId: 'u' });
    await store.db.updateTable('installs').set({ plugin_id: 'p' }).where('id', '=', again.id).execute();
    expect(await uninstallDropsData(store.db, 't', 'p')).toBe(false);
  });
});
