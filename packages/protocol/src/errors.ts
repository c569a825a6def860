import { ERROR_CODES, fillTemplate, type ErrorCode } from './error-codes.ts';

export interface PxErrorBody {
  code: ErrorCode;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

/**
 * The one error type of the product. The code decides the message template, the hint and the
 * HTTP status; subclasses exist so callers can `instanceof` by family. Core turns it into an HTTP
 * response in one place, the CLI into a message and exit code in one place.
 */
export class PxError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    params: Record<string, unknown> = {},
    options: { cause?: unknown; message?: string; hint?: string } = {},
  ) {
    const spec = ERROR_CODES[code];
    super(
      options.message ?? fillTemplate(spec.message, params),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint ?? fillTemplate(spec.hint, params);
    this.status = spec.status;
    this.details = params;
  }

  toJSON(): PxErrorBody {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      ...(Object.keys(this.details).length ? { details: this.details } : {}),
    };
  }
}

/** A package or manifest failed a check. */
export class PackageError extends PxError {}
/** Input from a user (CLI flags, request body, wizard values) is wrong. */
export class InputError extends PxError {}
/** Authentication, authorization, tenant kind or membership. */
export class AccessError extends PxError {}
/** Something asked for does not exist. */
export class NotFoundError extends PxError {}
/** The request collides with current state (install in progress, dependency, quota). */
export class ConflictError extends PxError {}
/** A plugin instance misbehaved or could not be started. */
export class PluginRuntimeError extends PxError {}

export function isPxError(value: unknown): value is PxError {
  return value instanceof PxError;
}
