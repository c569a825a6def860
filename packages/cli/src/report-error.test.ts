import { CommanderError } from 'commander';
import { ConflictError, InputError, PackageError, PxError } from '@powerx/protocol';
import { describe, expect, it } from 'vitest';
import { EXIT, errorBody, exitCodeFor } from './report-error.ts';

describe('report-error exit codes', () => {
  it('maps failed checks (package, manifest, build, bad key) to 1', () => {
    expect(exitCodeFor(new PackageError('PXP_HASH_MISMATCH', { path: 'x' }))).toBe(EXIT.CHECK_FAILED);
    expect(exitCodeFor(new PackageError('BUILD_FAILED', { detail: 'x' }))).toBe(EXIT.CHECK_FAILED);
    expect(exitCodeFor(new PxError('MANIFEST_BAD_ID', { id: 'x' }))).toBe(EXIT.CHECK_FAILED);
    expect(exitCodeFor(new PackageError('KEY_INVALID', { path: 'x', detail: 'y' }))).toBe(EXIT.CHECK_FAILED);
  });

  it('maps usage problems, missing paths and refusals to overwrite to 2, whatever class carries them', () => {
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"))).toBe(
      EXIT.USAGE,
    );
    expect(exitCodeFor(new InputError('USAGE', { detail: 'x' }))).toBe(EXIT.USAGE);
    expect(exitCodeFor(new PackageError('KEY_NOT_FOUND', { path: 'x' }))).toBe(EXIT.USAGE);
    expect(exitCodeFor(new PackageError('PXP_NOT_FOUND', { path: 'x' }))).toBe(EXIT.USAGE);
    expect(exitCodeFor(new ConflictError('KEY_EXISTS', { path: 'x' }))).toBe(EXIT.USAGE);
  });

  it('maps everything else to 3', () => {
    expect(exitCodeFor(new Error('boom'))).toBe(EXIT.ERROR);
    expect(exitCodeFor(new PxError('AUTH_REQUIRED'))).toBe(EXIT.ERROR);
  });

  it('shows an unexpected error as INTERNAL with its own message and a hint', () => {
    expect(errorBody(new Error('EACCES: permission denied'))).toMatchObject({
      code: 'INTERNAL',
      message: 'EACCES: permission denied',
    });
    expect(errorBody(new CommanderError(1, 'x', "error: missing required argument 'dir'"))).toMatchObject({
      code: 'USAGE',
      message: "missing required argument 'dir'",
    });
  });
});
