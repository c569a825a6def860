/** Compare-and-set on NATS KV: a write that names the revision it read fails when the key moved on. */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/** The write lost a compare-and-set: the key changed since it was read. */
export function isCasFailure(error: unknown): boolean {
  if (error instanceof JetStreamApiError)
    return (
      error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
    );
  return /wrong last sequence/i.test((error as Error)?.message ?? '');
}

/** Compare-and-set retries before giving up on a key other nodes keep writing. */
export const CAS_ATTEMPTS = 20;
