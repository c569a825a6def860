import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box.ts';

describe('SecretBox', () => {
  it('round-trips a value and never contains the plaintext', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('s3cret-value');
    expect(sealed).not.toContain('s3cret');
    expect(box.open(sealed)).toBe('s3cret-value');
  });

  it('refuses a sealed value that was altered', () => {
    const box = new SecretBox(randomBytes(32));
    const parts = box.seal('abc').split('.');
    parts[3] = Buffer.from('abd').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });

  it('cannot open a value sealed under another key', () => {
    const sealed = new SecretBox(randomBytes(32)).seal('x');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });
});
