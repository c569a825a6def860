import { describe, expect, it } from 'vitest';
import { orphanVersionFolders, switchPlan, type CurrentPlugin } from './version-gc-policy.ts';

const serving: CurrentPlugin = {
  status: 'running',
  active_install_id: 'v2',
  active_version: '2.0.0',
  last_stable_install_id: 'v1',
  last_stable_version: '1.0.0',
};

describe('version folder policy of a switch', () => {
  it('makes a first install active with nothing stable and nothing to drop', () => {
    expect(switchPlan('install', undefined)).toEqual({
      lastStable: { id: null, version: null },
      displaced: [],
    });
  });

  it('pushes the serving version to last stable on an upgrade and drops the old last stable one', () => {
    expect(switchPlan('install', serving)).toEqual({
      lastStable: { id: 'v2', version: '2.0.0' },
      displaced: ['v1'],
    });
  });

  it('never makes a version that failed while serving the last stable one', () => {
    expect(switchPlan('install', { ...serving, status: 'failed' })).toEqual({
      lastStable: { id: 'v1', version: '1.0.0' },
      displaced: ['v2'],
    });
  });

  it('leaves no stable version behind a rollback and lets both older installs go', () => {
    expect(switchPlan('rollback', serving)).toEqual({
      lastStable: { id: null, version: null },
      displaced: ['v1', 'v2'],
    });
  });

  it('treats a reconfigure like an upgrade of the same version', () => {
    expect(
      switchPlan('reconfigure', { ...serving, last_stable_install_id: null, last_stable_version: null }),
    ).toEqual({
      lastStable: { id: 'v2', version: '2.0.0' },
      displaced: [],
    });
  });

  it('lists the folders on disk that no install needs', () => {
    expect(orphanVersionFolders(['/a', '/b', '/c'], new Set(['/b']))).toEqual(['/a', '/c']);
    expect(orphanVersionFolders([], new Set(['/b']))).toEqual([]);
  });
});
