/** The one catalogue of error codes, assembled from its parts (each file holds one area's codes). */
import type { ErrorCodeSpec } from './error-code-spec.ts';
import { PACKAGE_ERROR_CODES } from './error-codes-package.ts';
import { SERVER_ERROR_CODES } from './error-codes-server.ts';

export type { ErrorCodeSpec } from './error-code-spec.ts';

export const ERROR_CODES = {
  ...PACKAGE_ERROR_CODES,
  ...SERVER_ERROR_CODES,
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Fills `{name}` placeholders; unknown ones stay visible so a missing parameter is noticed. */
export function fillTemplate(template: string, params: Record<string, unknown> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  );
}
