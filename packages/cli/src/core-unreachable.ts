/**
 * The CLI could not open a connection to core (refused, DNS, timeout): CORE_UNREACHABLE with the
 * URL it tried and where that URL came from, instead of an INTERNAL "bug in PowerX".
 */
import { PxError } from '@powerx/protocol';

export function coreUnreachable(url: string, error: unknown): PxError {
  const e = error as Error & { cause?: { message?: string; code?: string } };
  const detail = e.cause?.code ?? e.cause?.message ?? e.message;
  return new PxError('CORE_UNREACHABLE', { url, detail });
}
