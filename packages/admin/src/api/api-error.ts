import type { ErrorBody } from '@powerx/protocol';

/** An error answer of core ({code, message, hint}) or a network failure, as the pages show it. */
export class ApiError extends Error {
  readonly code: string;
  readonly hint: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.hint = body.hint;
    this.details = body.details;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** Turns anything thrown into {code, message, hint} for display. */
export function describeError(error: unknown): { code: string; message: string; hint: string } {
  if (isApiError(error)) return { code: error.code, message: error.message, hint: error.hint };
  // A message the Admin made itself (e.g. "not a .pxp"): {message, hint, code?}.
  if (error && typeof error === 'object' && !(error instanceof Error) && 'message' in error) {
    const e = error as { code?: string; message: string; hint?: string };
    return { code: e.code ?? 'INPUT', message: e.message, hint: e.hint ?? '' };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'NETWORK',
    message: `Core did not answer: ${message}`,
    hint: 'Check that core is running and reachable, then retry.',
  };
}
