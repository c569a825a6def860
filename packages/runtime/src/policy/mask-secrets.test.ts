import { describe, expect, it } from 'vitest';
import { maskSecrets, maskSecretsDeep, secretValues } from './mask-secrets.ts';

describe('masking secrets', () => {
  it('masks the longer of two overlapping secrets whole', () => {
    const secrets = secretValues(['abc', 'abcdef', '', 'abc']);
    expect(secrets).toEqual(['abcdef', 'abc']);
    expect(maskSecrets('x abcdef y abc', secrets)).toBe('x [secret] y [secret]');
  });

  it('finds a secret holding quotes, backslashes and newlines in field names and values', () => {
    const secret = 'p"a\\ss\nword';
    const fields = { [secret]: 1, list: [`before ${secret} after`], plain: 'nothing here' };
    expect(maskSecretsDeep(fields, [secret])).toEqual({
      '[secret]': 1,
      list: ['before [secret] after'],
      plain: 'nothing here',
    });
  });

  it('returns the same object when no secret is in it, and copes with a cycle or a BigInt', () => {
    const clean = { a: 'x', b: [1, 2] };
    expect(maskSecretsDeep(clean, ['s3cret'])).toBe(clean);
    const cyclic: Record<string, unknown> = { v: 's3cret', n: 10n };
    cyclic.self = cyclic;
    expect(maskSecretsDeep(cyclic, ['s3cret'])).toEqual({ v: '[secret]', n: 10n, self: '[circular]' });
  });
});
