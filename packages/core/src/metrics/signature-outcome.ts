/**
 * What the validation checks of one upload say about its signature, for the signature metrics.
 * A signature covers _pxp/SHA256SUMS, and the sums cover the files: a file changed, added or
 * removed after signing (or the sums themselves) is tampering with a signed package just as much
 * as an altered signature, and the integrity check refuses it before the signature is looked at —
 * so those codes count as signature failures too (the "three in a row" alert must see them).
 */
export const SIGNATURE_FAILURE_CODES: ReadonlySet<string> = new Set([
  'PXP_UNSIGNED',
  'PXP_SIGNATURE_INVALID',
  'PXP_KEY_UNTRUSTED',
  'PXP_SIGNER_MALFORMED',
  'PXP_HASH_MISMATCH',
  'PXP_FILE_MISSING',
  'PXP_FILE_UNLISTED',
  'PXP_SUMS_MISSING',
  'PXP_SUMS_MALFORMED',
]);

export function signatureOutcome(report: {
  checks: ReadonlyArray<{ id: string; ok: boolean; code?: string }>;
  signer?: unknown;
}): 'good' | 'bad' | 'none' {
  const checks = report.checks;
  if (checks.some((c) => !c.ok && c.code && SIGNATURE_FAILURE_CODES.has(c.code))) return 'bad';
  const valid = checks.find((c) => c.id === 'signature.valid');
  const trusted = checks.find((c) => c.id === 'signature.trusted');
  // Unsigned packages accepted by a dev-mode core pass both checks but have no signer: neutral.
  return report.signer && valid?.ok && trusted?.ok ? 'good' : 'none';
}
