import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import { CorePaths } from '../config/core-paths.ts';
import { LocalDiskBlobStore } from '../storage/blob-store.ts';
import { InstallStore } from '../install/install-store.ts';
import { openTestDatabase, type TestDatabase } from '../storage/test-databases.ts';
import { materializeVersionDir } from './version-folders.ts';

let store: TestDatabase;

beforeEach(async () => {
  store = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await store.close();
});

describe('version folders across nodes', () => {
  it('rebuilds a missing version folder from the blob, and refuses a blob that is not the validated package', async () => {
    const src = join(store.dir, 'src');
    await mkdir(join(src, 'dist'), { recursive: true });
    await writeFile(
      join(src, 'manifest.json'),
      JSON.stringify({
        id: 'com.x.p',
        name: 'P',
        version: '1.0.0',
        powerx: '>=1.0.0',
        runtime: { kind: 'node', entry: 'dist/server.js' },
      }),
    );
    await writeFile(join(src, 'dist/server.js'), 'export default {};\n');
    const packed = await packDirectory(src, join(store.dir, 'p.pxp'));
    const installs = new InstallStore(store.db);
    const row = await installs.create({ kind: 'install', tenant: 't', actorId: 'u' });
    const nodeA = new CorePaths(join(store.dir, 'a'));
    const nodeB = new CorePaths(join(store.dir, 'b'));
    // Recorded relative to the data dir: the same folder name on every node.
    const versionDir = nodeA.toStored(nodeA.versionDir('t', 'com.x.p', row.id));
    await installs.update(row.id, { version_dir: versionDir, package_sha256: packed.sha256 });
    const blobs = new LocalDiskBlobStore(join(store.dir, 'shared-blobs'));
    await blobs.put(`${row.id}.pxp`, packed.file);

    const local = await materializeVersionDir(
      { db: store.db, blobs, paths: nodeB },
      { id: row.id, version_dir: versionDir },
    );
    expect(local).toBe(nodeB.versionDir('t', 'com.x.p', row.id));
    expect(await readFile(join(local, 'dist/server.js'), 'utf8')).toBe('export default {};\n');

    const other = await installs.create({ kind: 'install', tenant: 't', actorId: 'u' });
    const otherDir = nodeA.toStored(nodeA.versionDir('t', 'com.x.p', other.id));
    await installs.update(other.id, { version_dir: otherDir, package_sha256: 'f'.repeat(64) });
    await writeFile(join(store.dir, 'again.pxp'), await readFile(blobs.pathOf(`${row.id}.pxp`)));
    await blobs.put(`${other.id}.pxp`, join(store.dir, 'again.pxp'));
    await expect(
      materializeVersionDir({ db: store.db, blobs, paths: nodeB }, { id: other.id, version_dir: otherDir }),
    ).rejects.toThrow(/does not match its checksum/);
  });
});
