/**
 * The "three signature failures in a row" signal (plugin_package_signature_failures_consecutive
 * and plugin_package_signature_failures_total) counts tampering with a signed package: a file
 * changed, removed or added after signing is refused by the integrity check before the signature
 * is looked at, and used to leave the streak untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { badPackages, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

let core: TestCore;
beforeAll(async () => {
  core = await startTestCore();
});
afterAll(async () => {
  await stopTestCore(core);
});

async function metric(name: string, tenant?: string): Promise<number> {
  const text = await (await fetch(`${core.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(name) && (!tenant || l.includes(`tenant="${tenant}"`)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('signature failure streak', () => {
  it('counts a hash mismatch, a missing and an added file in a row, like a flipped signature', async () => {
    const totalBefore = await metric('plugin_package_signature_failures_total');
    for (const [file, code] of [
      ['tampered-file.pxp', 'PXP_HASH_MISMATCH'],
      ['missing-file.pxp', 'PXP_FILE_MISSING'],
      ['extra-file.pxp', 'PXP_FILE_UNLISTED'],
    ]) {
      const r = await core.api.install(join(badPackages, file));
      expect(r.body.code, file).toBe(code);
    }
    expect(await metric('plugin_package_signature_failures_consecutive', 'sandbox-dev')).toBe(3);
    expect(await metric('plugin_package_signature_failures_total')).toBe(totalBefore + 3);
    const flipped = await core.api.install(join(badPackages, 'signature-flipped.pxp'));
    expect(flipped.body.code).toBe('PXP_SIGNATURE_INVALID');
    expect(await metric('plugin_package_signature_failures_consecutive', 'sandbox-dev')).toBe(4);
  });
});
