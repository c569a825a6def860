import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCoreConfig } from './core-config.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'pxenv-'));

describe('the sandbox settings of core', () => {
  it('defaults to uid and gid 59500 and no weak isolation', () => {
    expect(readCoreConfig({ dataDir }, {}).sandbox).toEqual({
      uid: 59_500,
      gid: 59_500,
      allowWeakIsolation: false,
    });
  });

  it('takes the uid, the gid (defaulting to the uid) and the weak-isolation opt-in from the environment', () => {
    expect(readCoreConfig({ dataDir }, { PX_SANDBOX_UID: '61000' }).sandbox).toMatchObject({
      uid: 61_000,
      gid: 61_000,
    });
    expect(
      readCoreConfig(
        { dataDir },
        { PX_SANDBOX_UID: '61000', PX_SANDBOX_GID: '62000', PX_ALLOW_WEAK_ISOLATION: '1' },
      ).sandbox,
    ).toEqual({ uid: 61_000, gid: 62_000, allowWeakIsolation: true });
  });

  it('refuses root or a malformed id as the sandbox uid with CORE_CONFIG_INVALID', () => {
    expect(() => readCoreConfig({ dataDir }, { PX_SANDBOX_UID: '0' })).toThrow(/PX_SANDBOX_UID/);
    expect(() => readCoreConfig({ dataDir }, { PX_SANDBOX_GID: 'abc' })).toThrow(/PX_SANDBOX_GID/);
    expect(() => readCoreConfig({ dataDir }, { PX_ALLOW_WEAK_ISOLATION: 'yes' })).toThrow(
      /PX_ALLOW_WEAK_ISOLATION/,
    );
  });
});
