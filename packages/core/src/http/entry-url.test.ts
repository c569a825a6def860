import { describe, expect, it } from 'vitest';
import { entryPath, entryUrl } from './entry-url.ts';

describe('plugin entry URLs', () => {
  it('puts the tenant and plugin under /_p/ with a trailing slash', () => {
    expect(entryUrl('http://127.0.0.1:8077', 'sandbox-dev', 'com.powerx.plugin.hello')).toBe(
      'http://127.0.0.1:8077/_p/sandbox-dev/com.powerx.plugin.hello/',
    );
  });

  it('encodes path segments so an odd id cannot leave its prefix', () => {
    expect(entryPath('t/../x', 'p?q')).toBe('/_p/t%2F..%2Fx/p%3Fq/');
  });
});
