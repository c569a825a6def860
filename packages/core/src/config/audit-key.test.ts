import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditKeySetting, loadAuditKey } from './audit-key.ts';

let tmp: string;
let dataDir: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'px-audit-key-'));
  dataDir = join(tmp, 'data');
  await mkdir(dataDir);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the audit key', () => {
  it('is generated once beside the data folder (0600), then read back', async () => {
    const first = await loadAuditKey(auditKeySetting({}, {}, dataDir), dataDir);
    expect(first).toMatchObject({ source: `${dataDir}.audit-key`, generated: true });
    expect((await stat(`${dataDir}.audit-key`)).mode & 0o777).toBe(0o600);
    const again = await loadAuditKey(auditKeySetting({}, {}, dataDir), dataDir);
    expect(again.generated).toBe(false);
    expect(again.key.equals(first.key)).toBe(true);
  });

  it('comes from PX_AUDIT_KEY or PX_AUDIT_KEY_FILE when given', async () => {
    const hex = 'ab'.repeat(32);
    const fromEnv = await loadAuditKey(auditKeySetting({}, { PX_AUDIT_KEY: hex }, dataDir), dataDir);
    expect(fromEnv).toMatchObject({ source: 'PX_AUDIT_KEY', generated: false });
    const file = join(tmp, 'ops.key');
    await writeFile(file, Buffer.alloc(32, 3).toString('base64'));
    const fromFile = await loadAuditKey(auditKeySetting({}, { PX_AUDIT_KEY_FILE: file }, dataDir), dataDir);
    expect(fromFile.key.equals(Buffer.alloc(32, 3))).toBe(true);
  });

  it('refuses a key file inside the data folder, also through a link', async () => {
    expect(() => auditKeySetting({}, { PX_AUDIT_KEY_FILE: join(dataDir, 'k') }, dataDir)).toThrow(
      /PX_AUDIT_KEY_FILE.*inside the data folder/,
    );
    await writeFile(join(dataDir, 'k'), 'ab'.repeat(32));
    await symlink(join(dataDir, 'k'), join(tmp, 'link.key'));
    await expect(
      loadAuditKey(auditKeySetting({}, { PX_AUDIT_KEY_FILE: join(tmp, 'link.key') }, dataDir), dataDir),
    ).rejects.toMatchObject({ code: 'CORE_CONFIG_INVALID' });
  });

  it('refuses a missing explicit file and a malformed key, without echoing the key', async () => {
    await expect(
      loadAuditKey(auditKeySetting({}, { PX_AUDIT_KEY_FILE: join(tmp, 'none') }, dataDir), dataDir),
    ).rejects.toMatchObject({ code: 'CORE_CONFIG_INVALID' });
    let message = '';
    try {
      auditKeySetting({}, { PX_AUDIT_KEY: 'not-a-key-secretvalue' }, dataDir);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/PX_AUDIT_KEY/);
    expect(message).not.toContain('secretvalue');
    expect(await readFile(join(dataDir, 'k')).catch(() => 'none')).toBe('none');
  });
});
