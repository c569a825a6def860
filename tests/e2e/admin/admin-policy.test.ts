/**
 * The Admin shows what the operator configured, in a real browser (Debian's Chromium via
 * playwright-core) against a real core: the effective dev policy on the Dev sessions page (and a
 * re-read policy after Refresh, without a restart), the feature flags in the navigation, the
 * sandbox and production limits side by side, and the production-parity warning in the
 * validation report. No console error on any page. Screenshots: test-artifacts/admin/policy-*.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  dropPackage,
  navLink,
  packFixture,
  screenshot,
  useAdminSuite,
  type E2eCore,
} from './admin-test-kit.ts';

let policyFile: string;
let hello: string;

const suite = useAdminSuite({
  tmpPrefix: 'px-admin-policy-',
  core: async (tmp) => {
    policyFile = join(tmp, 'dev_policy.yaml');
    await writeFile(policyFile, 'devMode: true\nsessions: {maxPerUser: 4}\nretention: {logDays: 3}\n');
    return {
      devPolicyFile: policyFile,
      limitsFile: join(import.meta.dirname, 'fixtures/parity_limits.yaml'),
      flags: { 'plugin-dev-logs': false },
    };
  },
});
let core: E2eCore;
let page: Page;

beforeAll(async () => {
  ({ core, page } = suite);
  hello = await packFixture('hello-admin', suite.tmp);
}, 60_000);

describe('the Admin shows the configuration in force', () => {
  it('lists the feature flags, on and off, in the navigation', async () => {
    const flags = page.locator('[data-feature-flags]');
    await flags.waitFor();
    expect(await flags.locator('[data-flag="plugin-dev-logs"]').getAttribute('data-enabled')).toBe('false');
    expect(await flags.locator('[data-flag="plugin-sandbox-mode"]').getAttribute('data-enabled')).toBe(
      'true',
    );
    expect(await flags.locator('[data-flag="px-plugin-runtime-v2"]').getAttribute('data-enabled')).toBe(
      'true',
    );
    expect(await flags.locator('[data-flag="plugin-dev-logs"]').textContent()).toContain('off');
  });

  it('shows sandbox and production limits side by side, marking the ones that differ', async () => {
    const table = page.locator('[data-quota-compare]');
    await table.waitFor();
    expect(await table.locator('thead').textContent()).toMatch(
      /sandbox-dev \(sandbox\).*default \(production\)/,
    );
    const memory = table.locator('[data-limit="maxMemoryMb"] td');
    expect(await memory.allTextContents()).toEqual(['2048', '32 ≠']);
    expect(await table.locator('[data-limit="maxPlugins"] td[data-differs]').count()).toBe(0);
    await screenshot(page, 'policy-quota-compare');
  });

  it('shows the effective dev policy, and the re-read one after Refresh', async () => {
    await navLink(page, 'Dev sessions').click();
    const card = page.locator('[data-dev-policy]');
    await card.waitFor();
    expect(await card.textContent()).toContain(policyFile);
    expect(await card.locator('[data-policy-field="sessions"]').textContent()).toContain(
      'at most 4 per user',
    );
    expect(await card.locator('[data-policy-field="retention"]').textContent()).toContain(
      'plugin logs 3 days',
    );
    expect(await card.locator('[data-policy-field="roots"]').textContent()).toContain(
      "never core's data folder",
    );
    expect(await card.locator('[data-policy-field="unsignedDevBuilds"]').textContent()).toContain('allowed');
    await writeFile(
      policyFile,
      'devMode: true\nsessions: {maxPerUser: 6}\nunsignedDevBuilds: {default: false}\n',
    );
    await core.reloadPolicy();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await card.locator('[data-policy-field="sessions"]', { hasText: 'at most 6 per user' }).waitFor();
    expect(await card.locator('[data-policy-field="unsignedDevBuilds"]').textContent()).toContain('refused');
    await screenshot(page, 'policy-dev-sessions');
  });

  it('marks production parity as a warning in the validation report; the package still installs', async () => {
    await navLink(page, 'Install').click();
    await dropPackage(page, hello);
    await page.getByRole('heading', { name: /Validation report/ }).waitFor();
    const parity = page.locator('[data-check="production.parity"]');
    expect(await parity.getAttribute('class')).toBe('check-warn');
    const text = await parity.textContent();
    expect(text).toContain('!');
    expect(text).toContain('fits sandbox, would not fit default: maxMemoryMb');
    expect(await page.getByRole('heading', { name: /Validation report/ }).textContent()).toContain(
      'all checks passed',
    );
    expect(await page.locator('form.wizard').count()).toBe(1);
    await screenshot(page, 'policy-parity-warning');
  });
});
