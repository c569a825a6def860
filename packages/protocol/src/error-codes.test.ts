import { describe, expect, it } from 'vitest';
import { ERROR_CODES, fillTemplate } from './error-codes.ts';
import { PackageError, PxError } from './errors.ts';

describe('error codes', () => {
  it('every code has a message, a hint and an HTTP status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(spec.message.length, code).toBeGreaterThan(3);
      expect(spec.hint.length, code).toBeGreaterThan(10);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(fillTemplate('Entry "{path}" and {other}', { path: '../x' })).toBe('Entry "../x" and {other}');
  });

  it('a PxError carries its code, filled message, hint and status, and serializes to the API body', () => {
    const error = new PackageError('PXP_PATH_TRAVERSAL', { path: '../../etc/passwd' });
    expect(error).toBeInstanceOf(PxError);
    expect(error.name).toBe('PackageError');
    expect(error.message).toBe('Entry "../../etc/passwd" escapes the package root');
    expect(error.status).toBe(400);
    expect(error.toJSON()).toMatchObject({ code: 'PXP_PATH_TRAVERSAL', hint: expect.stringContaining('..') });
  });
});
