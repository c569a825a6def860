import { describe, expect, it } from 'vitest';
import { CorePaths, dataDirRelative } from './core-paths.ts';

describe('paths stored relative to the data dir', () => {
  const paths = new CorePaths('/srv/powerx/data');

  it('stores paths inside the data dir relative, and resolves them under the current data dir', () => {
    const dir = paths.versionDir('sandbox-dev', 'com.example.hello', 'i-1');
    expect(paths.toStored(dir)).toBe('tenants/sandbox-dev/plugins/com.example.hello/versions/i-1');
    expect(paths.resolve('tenants/sandbox-dev/plugins/com.example.hello/versions/i-1')).toBe(dir);
    expect(paths.resolve('staging/pxp-abc')).toBe('/srv/powerx/data/staging/pxp-abc');
  });

  it('resolves an absolute path an older core recorded under a previous location to the same place here', () => {
    expect(paths.resolve('/home/dev/old-checkout/.px-data/tenants/t/plugins/p/versions/i-9')).toBe(
      '/srv/powerx/data/tenants/t/plugins/p/versions/i-9',
    );
    expect(paths.resolve('/old/.px-data/staging/pxp-1')).toBe('/srv/powerx/data/staging/pxp-1');
    // A tenant may be called "tenants": the layout is matched from the end.
    expect(dataDirRelative('/x/data/tenants/tenants/plugins/p/versions/v')).toBe(
      'tenants/tenants/plugins/p/versions/v',
    );
  });

  it('refuses to store a path outside the data dir, and leaves unknown absolute paths alone', () => {
    expect(() => paths.toStored('/etc/passwd')).toThrow(/not inside the data dir/);
    expect(paths.resolve('/opt/elsewhere/file')).toBe('/opt/elsewhere/file');
    expect(dataDirRelative('/opt/elsewhere/file')).toBeUndefined();
  });
});
