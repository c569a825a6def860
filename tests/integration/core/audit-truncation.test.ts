/**
 * The audit head is anchored outside the database (`<data dir>/audit-head.json`), so deleting the
 * newest entries straight in the SQLite file is reported by `GET /api/audit/verify` (and
 * `px-plugin audit --verify`) with the missing range — also after core restarted and chained new
 * entries on top of the shorter log. A tampered middle entry is reported as well.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { makeTmp, repoRoot, startTestCore, type TestCore } from '../../support/core-kit.ts';

const run = promisify(execFile);
let core: TestCore | undefined;
let tmp: string;

beforeAll(async () => {
  tmp = await makeTmp();
});

afterAll(async () => {
  await core?.close();
  await rm(tmp, { recursive: true, force: true });
});

function sqlite(dataDir: string, statements: string[]): void {
  const db = new DatabaseSync(join(dataDir, 'core.db'));
  try {
    for (const s of statements) db.exec(s);
  } finally {
    db.close();
  }
}

/** A few audit entries: creating users is audited. */
async function activity(c: TestCore, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    expect(
      (
        await c.api.post('/api/users', {
          username: `${prefix}-${i}`,
          password: 'password-123',
          permissions: [],
        })
      ).status,
    ).toBe(201);
}

describe('audit truncation', () => {
  it('reports the newest entries deleted in the SQLite file, with the missing range', async () => {
    core = await startTestCore({ tmp });
    await activity(core, 'u', 4);
    const before = (await core.api.get('/api/audit/verify')).body;
    expect(before).toMatchObject({ ok: true, anchor: { seq: before.entries, hash: before.headHash } });
    expect((await stat(join(core.dataDir, 'audit-head.json'))).mode & 0o777).toBe(0o600);
    const head = before.entries as number;

    sqlite(core.dataDir, [`DELETE FROM audit_log WHERE seq > ${head - 3}`]);
    const after = (await core.api.get('/api/audit/verify')).body;
    expect(after).toMatchObject({
      ok: false,
      entries: head - 3,
      missing: { fromSeq: head - 2, toSeq: head },
      firstBadSeq: head - 2,
    });
    expect(after.reason).toContain(`${head - 2}…${head}`);

    // The CLI says it too, and exits 1.
    const home = await makeTmp('pxc-home-');
    try {
      const cli = await run(
        process.execPath,
        [join(repoRoot, 'packages/cli/src/main.ts'), 'audit', '--verify'],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: home,
            NO_COLOR: '1',
            PX_API_URL: core.url,
            PX_TOKEN: core.adminToken,
          },
        },
      ).then(
        () => ({ code: 0, stdout: '' }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain(`${head - 2}…${head}`);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('keeps reporting it after a restart chained new entries on the shorter log', async () => {
    const previous = (await core!.api.get('/api/audit/verify')).body;
    await core!.close();
    // Also hide the gap in the sequence numbers: the table alone now looks like an intact log.
    sqlite(join(tmp, 'data'), [
      `UPDATE sqlite_sequence SET seq = ${previous.entries} WHERE name = 'audit_log'`,
    ]);
    core = await startTestCore({ tmp });
    await activity(core, 'v', 2);
    const r = (await core.api.get('/api/audit/verify')).body;
    expect(r).toMatchObject({
      ok: false,
      missing: previous.missing,
      truncations: [{ fromSeq: previous.missing.fromSeq, toSeq: previous.missing.toSeq }],
    });
  });

  it('reports a tampered middle entry as well', async () => {
    sqlite(core!.dataDir, ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"]);
    const r = (await core!.api.get('/api/audit/verify')).body;
    expect(r).toMatchObject({ ok: false, firstBadSeq: 2, missing: expect.any(Object) });
    expect(r.reason).toMatch(/^entry 2 .*keyed hash.*were deleted/);
  });
});
