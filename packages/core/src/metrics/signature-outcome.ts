/** What the validation checks of one upload say about its signature, for the signature metrics. */
export const SIGNATURE_FAILURE_CODES = new Set(['PXP_UNSIGNED', 'PXP_SIGNATURE_INVALID', 'PXP_KEY_UNTRUSTED', 'PXP_SIGNER_MALFORMED']);

export function signatureOutcome(report: { checks: ReadonlyArray<{ id: string; ok: boolean; code?: string }>; signer?: unknown }): 'good' | 'bad' | 'none' {
  const checks = report.checks;
  if (checks.some((c) => !c.ok && c.code && SIGNATURE_FAILURE_CODES.has(c.code))) return 'bad';
  const valid = checks.find((c) => c.id === 'signature.valid');
  const trusted = checks.find((c) => c.id === 'signature.trusted');
  // Unsigned packages accepted by a dev-mode core pass both checks but have no signer: neutral.
  return report.signer && valid?.ok && trusted?.ok ? 'good' : 'none';
}
