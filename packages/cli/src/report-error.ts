/**
 * The ONE place where an error becomes what the developer sees and the process exit code.
 * Commands throw `PxError`s (or let unexpected errors escape); nothing else prints errors.
 *
 * Exit codes (a public contract, documented in the README):
 *   0  success
 *   1  a check failed: validation found problems, the build failed, the package/manifest/key
 *      given is not acceptable
 *   2  usage: unknown command or option, missing argument, a path that does not exist, or a
 *      refusal to overwrite something (INIT_DIR_NOT_EMPTY, KEY_EXISTS)
 *   3  any other error (I/O, errors reported by core, bugs)
 */
import { CommanderError } from 'commander';
import {
  ConflictError,
  InputError,
  NotFoundError,
  PackageError,
  PxError,
  type PxErrorBody,
} from '@powerx/protocol';
import { out, styleFor } from './output.ts';

export const EXIT = { OK: 0, CHECK_FAILED: 1, USAGE: 2, ERROR: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const USAGE_CODES = new Set([
  'USAGE',
  'PXP_NOT_FOUND',
  'PROJECT_NOT_FOUND',
  'KEY_NOT_FOUND',
  'INIT_DIR_NOT_EMPTY',
  'KEY_EXISTS',
]);
const CHECK_CODES = /^(PXP_|MANIFEST_|CORE_INCOMPATIBLE$|BUILD_FAILED$|KEY_INVALID$)/;

/** Exit code for an error; by code first (package-format may throw any subclass), then by class. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CommanderError) return EXIT.USAGE;
  if (!(error instanceof PxError)) return EXIT.ERROR;
  if (USAGE_CODES.has(error.code)) return EXIT.USAGE;
  if (CHECK_CODES.test(error.code)) return EXIT.CHECK_FAILED;
  if (error instanceof PackageError) return EXIT.CHECK_FAILED;
  if (error instanceof InputError || error instanceof ConflictError || error instanceof NotFoundError)
    return EXIT.USAGE;
  return EXIT.ERROR;
}

/** The body printed for an error: a PxError as it is, anything else as INTERNAL with its own message. */
export function errorBody(error: unknown): PxErrorBody {
  if (error instanceof PxError) return error.toJSON();
  if (error instanceof CommanderError) {
    return {
      code: 'USAGE',
      message: error.message.replace(/^error:\s*/, ''),
      hint: 'Run the command with --help to see its usage.',
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'INTERNAL',
    message,
    hint: 'This was not expected. Run again with PX_DEBUG=1 to see the stack trace, and report it if it looks like a bug in px-plugin.',
  };
}

/** Prints the error (human or JSON) and returns the exit code the process should end with. */
export function reportError(error: unknown, options: { json?: boolean } = {}): ExitCode {
  const body = errorBody(error);
  if (options.json) {
    out.json({ ok: false, error: body });
  } else {
    const style = styleFor(process.stderr);
    process.stderr.write(`${style.fail(`✗ ${body.code}`)} ${body.message}\n`);
    const frame = codeFrame(body.details);
    if (frame) process.stderr.write(frame);
    if (body.hint) process.stderr.write(`  ${style.dim('hint:')} ${body.hint}\n`);
  }
  if (process.env.PX_DEBUG === '1' && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  return exitCodeFor(error);
}

/** For errors that carry a source position (BUILD_FAILED): the line and a caret under the column. */
function codeFrame(details: Record<string, unknown> | undefined): string | undefined {
  if (!details || typeof details.lineText !== 'string' || typeof details.line !== 'number') return undefined;
  const column = typeof details.column === 'number' ? details.column : 1;
  const gutter = `${details.line} | `;
  return `\n    ${gutter}${details.lineText}\n    ${' '.repeat(gutter.length + column - 1)}^\n\n`;
}
