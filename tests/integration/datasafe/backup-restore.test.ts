/**
 * Online backup and restore, end to end: `px-plugin backup` (a real CLI process) snapshots a
 * running core with several running plugins while it keeps serving; the archive unpacked into
 * another folder starts a second core on which every plugin runs from the restored files and
 * every entry point answers, the audit verifies, and the last stable version is there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTmp, packFixtures, repoRoot, startTestCore, type TestCore } from '../../support/core-kit.ts';
import { expectAllServing, installSeveral, pluginFolders } from './data-folder-kit.ts';

const run = promisify(execFile);
let tmp: string;
let pkgs: Record<string, string>;
const cores: TestCore[] = [];

beforeAll(async () => {
  tmp = await makeTmp('pxd-backup-');
  pkgs = await packFixtures(join(tmp, 'pkgs'));
});
afterAll(async () => {
  for (const c of cores) await c.close().catch(() => {});
  await rm(tmp, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string>) {
  return run(process.execPath, [join(repoRoot, 'packages/cli/src/main.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: tmp, NO_COLOR: '1', ...env },
  });
}

describe('backup and restore', () => {
  it('restores a core with several running plugins on another data folder, every entry point answering', async () => {
    const live = await startTestCore({ tmp, dataDir: join(tmp, 'live') });
    cores.push(live);
    await installSeveral(live, pkgs);
    await expectAllServing(live);

    // A file in a plugin's own data folder (what a plugin writes there) must come back too.
    const liveData = join(live.dataDir, 'tenants/sandbox-dev/plugins/com.fixture.core.hello/data');
    await writeFile(join(liveData, 'note.txt'), 'written before the backup\n');

    const archive = join(tmp, 'backup.tar.gz');
    const r = await cli(['backup', '--out', archive], { PX_API_URL: live.url, PX_TOKEN: live.adminToken });
    expect(r.stdout).toContain('backup written to');
    expect(r.stdout).toContain('3 plugin(s)');
    expect(((await stat(archive)).mode & 0o777).toString(8)).toBe('600');
    // The live core served on during the backup, and its staging area is clean again.
    await expectAllServing(live);
    expect(await readdir(join(live.dataDir, 'staging'))).toEqual([]);

    // Restore: unpack into an empty folder with standard tar, start core on it.
    const restored = join(tmp, 'restored');
    await mkdir(restored);
    await run('tar', ['-xzf', archive, '-C', restored]);
    expect((await readdir(restored)).sort()).toEqual(
      expect.arrayContaining(['audit-head.json', 'backup.json', 'blobs', 'core.db', 'master.key', 'tenants']),
    );
    // The audit key is not in the data folder, so not in the backup: the restored core is given
    // the live core's key (its default file, beside the live data folder).
    const second = await startTestCore({ tmp, dataDir: restored, auditKeyFile: `${live.dataDir}.audit-key` });
    cores.push(second);
    expect(second.recovery).toMatchObject({ rolledBack: 0, started: 3, failed: 0 });
    await expectAllServing(second);
    // Its plugins run from the restored files.
    const mine = (await pluginFolders(tmp)).filter((f) => f.startsWith(restored));
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(
      await readFile(
        join(restored, 'tenants/sandbox-dev/plugins/com.fixture.core.hello/data/note.txt'),
        'utf8',
      ),
    ).toBe('written before the backup\n');
    // Secrets survived (same master key), the audit chain and its anchor agree.
    const hello = (await (await fetch(second.entryUrl('sandbox-dev', 'com.fixture.core.hello'))).json()) as {
      hasApiKey: boolean;
    };
    expect(hello.hasApiKey).toBe(true);
    expect((await second.api.get('/api/audit/verify')).body).toMatchObject({ ok: true });
    // The last stable version came along: rolling back works on the restored core.
    const back = await second.api.post(
      '/api/tenants/sandbox-dev/plugins/com.fixture.core.hello/rollback?wait=true',
    );
    expect(back.body).toMatchObject({ state: 'running', version: '1.0.0' });
  });

  it('only an admin may take a backup', async () => {
    const live = cores[0];
    const dev = await live.api.user('dana', ['plugin:dev'], ['sandbox-dev']);
    const refused = await dev.post('/api/admin/backup');
    expect(refused.status).toBe(403);
    expect(await readdir(join(live.dataDir, 'staging'))).toEqual([]);
  });
});
