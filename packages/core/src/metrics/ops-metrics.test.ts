import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { ConsecutiveFailures } from './consecutive-failures.ts';
import { usageRatio } from './quota-usage.ts';
import { signatureOutcome } from './signature-outcome.ts';
import { CoreMetrics } from './core-metrics.ts';

describe('ops metrics', () => {
  it('counts failures in a row per tenant and resets on a success', async () => {
    const streak = new ConsecutiveFailures('test_failures_consecutive', 'test', new Registry());
    streak.failed('a');
    streak.failed('a');
    streak.failed('b');
    expect(await streak.current('a')).toBe(2);
    streak.succeeded('a');
    streak.failed('a');
    expect(await streak.current('a')).toBe(1);
    expect(await streak.current('b')).toBe(1);
  });

  it('gives every known tenant a 0 series before its first failure', async () => {
    const registry = new Registry();
    const streak = new ConsecutiveFailures('test_known_consecutive', 'test', registry);
    streak.setKnownTenants(async () => ['sandbox-dev', 'default']);
    streak.failed('sandbox-dev');
    const text = await registry.metrics();
    expect(text).toContain('test_known_consecutive{tenant="sandbox-dev"} 1');
    expect(text).toContain('test_known_consecutive{tenant="default"} 0');
  });

  it('computes quota usage ratios, a zero limit being full as soon as anything is used', () => {
    expect(usageRatio(128, 160)).toBe(0.8);
    expect(usageRatio(0, 0)).toBe(0);
    expect(usageRatio(1, 0)).toBe(1);
  });

  it('tells a bad signature from a good one and from an unsigned package accepted in dev mode', () => {
    const passed = (id: string) => ({ id, ok: true });
    expect(
      signatureOutcome({ checks: [{ id: 'signature.valid', ok: false, code: 'PXP_SIGNATURE_INVALID' }] }),
    ).toBe('bad');
    expect(
      signatureOutcome({
        checks: [
          passed('signature.valid'),
          { id: 'signature.trusted', ok: false, code: 'PXP_KEY_UNTRUSTED' },
        ],
      }),
    ).toBe('bad');
    expect(
      signatureOutcome({
        checks: [passed('signature.valid'), passed('signature.trusted')],
        signer: { keyId: 'k' },
      }),
    ).toBe('good');
    expect(signatureOutcome({ checks: [passed('signature.valid'), passed('signature.trusted')] })).toBe(
      'none',
    );
    expect(signatureOutcome({ checks: [{ id: 'archive.gzip', ok: false, code: 'PXP_NOT_GZIP' }] })).toBe(
      'none',
    );
    // Tampering with a signed package: the integrity check refuses it before the signature is checked.
    for (const code of ['PXP_HASH_MISMATCH', 'PXP_FILE_MISSING', 'PXP_FILE_UNLISTED', 'PXP_SUMS_MISSING'])
      expect(signatureOutcome({ checks: [{ id: 'integrity.sums', ok: false, code }] }), code).toBe('bad');
  });

  it('records a dev install: counter, histogram, rollback and the failure streak', async () => {
    const metrics = new CoreMetrics(() => undefined, false);
    metrics.recordDevInstall('sandbox-dev', false, 1.5, true);
    metrics.recordDevInstall('sandbox-dev', false, 0.5, true);
    expect(await metrics.devInstallFailureStreak.current('sandbox-dev')).toBe(2);
    metrics.recordDevInstall('sandbox-dev', true, 0.2);
    expect(await metrics.devInstallFailureStreak.current('sandbox-dev')).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('plugin_dev_install_total{result="failed"} 2');
    expect(text).toContain('plugin_dev_install_total{result="success"} 1');
    expect(text).toContain('plugin_dev_rollback_total 2');
    // Known label values exist from the start, so rates and ratios are defined before any upload.
    expect(text).toContain('plugin_install_sandbox_total{result="failed"} 0');
  });
});
