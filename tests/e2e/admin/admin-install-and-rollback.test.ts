/**
 * Installing through the Admin, in a real browser (Debian's Chromium via playwright-core) against
 * a real dev-mode core: the validation report with hints for a package that fails validation,
 * the failed stage of an install that fails after it, the wizard with a secret up to running,
 * an upgrade rolled back to the last stable version, and the plugins list after it. The tests run
 * in order and share one core and one browser; no console error on any page. Screenshots go to
 * test-artifacts/admin/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  HELLO_ID,
  TENANT,
  dropPackage,
  fixturePluginDir,
  navLink,
  packFixture,
  screenshot,
  useAdminSuite,
  type E2eCore,
} from './admin-test-kit.ts';

const suite = useAdminSuite({ tmpPrefix: 'px-admin-install-', core: { devMode: true } });
let core: E2eCore;
let page: Page;
let packages: { hello: string; helloV2: string; futureCore: string; unhealthy: string };

beforeAll(async () => {
  ({ core, page } = suite);
  packages = {
    hello: await packFixture('hello-admin', suite.tmp),
    helloV2: await packFixture('hello-admin-v2', suite.tmp),
    futureCore: await packFixture(fixturePluginDir('future-core'), suite.tmp),
    unhealthy: await packFixture(fixturePluginDir('hello-unhealthy'), suite.tmp),
  };
}, 60_000);

describe('installing a plugin through the web Admin', { timeout: 60_000 }, () => {
  it('shows the validation report with the hint when a package fails validation, and installs nothing', async () => {
    await navLink(page, 'Install').click();
    await dropPackage(page, packages.futureCore);
    await page.getByRole('heading', { name: /Validation report/ }).waitFor();
    const failed = page.locator('.checks li.check-bad');
    expect(await failed.count()).toBeGreaterThan(0);
    const text = await failed.first().textContent();
    expect(text).toContain('✗');
    expect(text).toMatch(/Hint: .+/);
    await page.getByText('The package cannot be installed.').waitFor();
    expect(await page.locator('form.wizard').count()).toBe(0);
    await screenshot(page, '04-install-validation-failed');
    const plugins = await core.api('GET', `/api/tenants/${TENANT}/plugins`);
    expect(plugins.body.plugins).toEqual([]);
  });

  it('shows the failed stage with its reason and hint when an install fails after validation', async () => {
    await page.getByRole('button', { name: 'Choose another' }).click();
    await dropPackage(page, packages.unhealthy);
    await page.getByText('all checks passed').waitFor();
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    const failed = page.locator('[data-install-state="failed"]');
    await failed.waitFor({ timeout: 45_000 });
    const alert = failed.locator('.state-error');
    expect(await alert.textContent()).toMatch(/Failed at .+/);
    expect(await alert.textContent()).toMatch(/Hint: .+/);
    expect(await failed.locator('[data-stage].stage-failed').count()).toBeGreaterThan(0);
    await screenshot(page, '05-install-failed-health');
    await page.getByRole('button', { name: 'Try another package' }).click();
  });

  it('uploads the hello package, fills the wizard with a secret and reaches running', async () => {
    await dropPackage(page, packages.hello);
    await page.getByRole('heading', { name: /Validation report/ }).waitFor();
    await page.getByText('all checks passed').waitFor();
    expect(await page.locator('.checks li.check-ok').count()).toBeGreaterThan(3);
    // The wizard: defaults filled in, typed inputs, the secret masked.
    expect(await page.getByLabel(/^GREETING/).inputValue()).toBe('hi');
    expect(await page.getByLabel(/^TIMES/).getAttribute('type')).toBe('number');
    expect(await page.getByLabel(/^API_KEY/).getAttribute('type')).toBe('password');
    expect(await page.getByLabel(/^MODE/).inputValue()).toBe('safe');
    await screenshot(page, '06-install-report-and-wizard');
    // Inline errors before anything is sent: the required secret is empty, GREETING cleared.
    await page.getByLabel(/^GREETING/).fill('');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.locator('#err-GREETING').waitFor();
    expect(await page.locator('#err-API_KEY').textContent()).toBe('Required');
    await page.getByLabel(/^GREETING/).fill('hello from the wizard');
    await page.getByLabel(/^TIMES/).fill('3');
    await page.getByLabel(/^MODE/).selectOption('fast');
    await page.getByLabel(/^API_KEY/).fill('s3cret-value-never-shown');
    await page.getByLabel('Log level').selectOption('debug');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.locator('[data-install-state="running"]').waitFor({ timeout: 45_000 });
    for (const stage of ['validating', 'provisioning', 'starting', 'health_check', 'running']) {
      expect(await page.locator(`[data-install-state] [data-stage="${stage}"]`).count()).toBeGreaterThan(0);
    }
    await page.locator('[data-install-state] [data-entry-link]').waitFor();
    await screenshot(page, '07-install-running');
    expect(await page.content()).not.toContain('s3cret-value-never-shown');
  });

  it('rolls back to the last stable version after an upgrade, with confirmation', async () => {
    // Away from the finished install first: the Install link alone keeps its result on screen.
    await navLink(page, 'Plugins').click();
    await navLink(page, 'Install').click();
    await dropPackage(page, packages.helloV2);
    await page.getByText('all checks passed').waitFor();
    await page.getByLabel(/^API_KEY/).fill('another-secret');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.locator('[data-install-state="running"]').waitFor({ timeout: 45_000 });
    await page.getByRole('link', { name: 'Open the plugin page' }).click();
    await page.locator('[data-fact="version"]', { hasText: '2.0.0' }).waitFor();
    expect(await page.locator('[data-fact="last-stable"]').textContent()).toBe('1.0.0');
    await page.getByRole('button', { name: 'Roll back to 1.0.0' }).click();
    await page.getByRole('dialog').waitFor();
    await screenshot(page, '11-rollback-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.locator('[data-install-state="running"]').waitFor({ timeout: 45_000 });
    await page.locator('[data-fact="version"]', { hasText: '1.0.0' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-install]').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, '12-after-rollback');
    const plugin = await core.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}`);
    expect(plugin.body.version).toBe('1.0.0');
  });

  it('lists the plugin with status, version, last stable and usage', async () => {
    await navLink(page, 'Plugins').click();
    const row = page.locator(`tr[data-plugin="${HELLO_ID}"]`);
    await row.waitFor();
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('running');
    await screenshot(page, '13-plugins-list');
  });
});
