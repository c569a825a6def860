/**
 * The Admin renders what a plugin controls as text, never as HTML: a hostile plugin whose name,
 * description, menu title, configuration fields and log lines carry HTML/script payloads goes
 * through the whole Admin flow in a real browser (Debian's Chromium via playwright-core): the
 * validation report of a package whose messages quote a payload, the install wizard, the plugins
 * list, the plugin detail with its logs, the plugin's own admin page and the audit log. Every
 * payload would set `window.__pwned` or open an alert; neither may ever happen. Beside the text:
 * the plugin's own pages opened on the Admin's host run in an opaque origin, and no other page may
 * frame the Admin.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  TENANT,
  dropPackage,
  packFixture,
  screenshot,
  signIn,
  useAdminSuite,
  type E2eCore,
} from './admin-test-kit.ts';

const XSS_ID = 'com.fixture.admin.xss';
const NAME = `<img src=x onerror="window.__pwned='name';alert('name')">Evil`;

// Console errors are expected here (the payloads' broken images); what may never happen is checked below.
const suite = useAdminSuite({
  tmpPrefix: 'px-admin-xss-',
  core: { devMode: true },
  signedIn: false,
  failOnConsoleErrors: false,
});
let core: E2eCore;
let page: Page;
const dialogs: string[] = [];
const packages: Record<string, string> = {};

async function pwned(p: Page): Promise<unknown> {
  return p.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned);
}

async function expectNothingRan(p: Page): Promise<void> {
  // Give onerror/onload handlers of anything injected a moment to fire.
  await p.waitForTimeout(300);
  expect(await pwned(p)).toBeUndefined();
  expect(dialogs).toEqual([]);
  // The payloads are on the page as text, and no element of theirs exists.
  expect(await p.locator('img[src="x"], svg[onload], b[onmouseover]').count()).toBe(0);
}

beforeAll(async () => {
  ({ core, page } = suite);
  packages.xss = await packFixture('xss-plugin', suite.tmp);
  packages.invalid = await packFixture('xss-invalid', suite.tmp);
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  suite.context.on('page', (other) =>
    other.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss())),
  );
  await signIn(page, core.url);
}, 60_000);

describe('plugin-controlled text in the Admin', () => {
  it('shows validation messages quoting a payload as text', async () => {
    await page.goto(`${core.url}/admin/t/${TENANT}/install`);
    await dropPackage(page, packages.invalid);
    await page.getByRole('heading', { name: /Validation report/ }).waitFor();
    const failed = page.locator('.checks li.check-bad');
    await failed.first().waitFor();
    expect(await failed.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining(`onerror="window.__pwned='validation'`)]),
    );
    await expectNothingRan(page);
    await screenshot(page, 'xss-01-validation');
  });

  it('installs the hostile plugin through the wizard without running its payloads', async () => {
    await page.getByRole('button', { name: 'Choose another' }).click();
    await dropPackage(page, packages.xss);
    await page.getByRole('heading', { name: /Validation report/ }).waitFor();
    await page.getByLabel(/^LABEL/).waitFor();
    expect(await page.content()).toContain("window.__pwned='env-description'");
    await expectNothingRan(page);
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.locator('[data-install-state="running"]').waitFor({ timeout: 45_000 });
    await expectNothingRan(page);
    await screenshot(page, 'xss-02-installed');
  });

  it('lists it and shows its detail, menus and log lines as text', async () => {
    await page.goto(`${core.url}/admin/t/${TENANT}/plugins`);
    await page.getByText(NAME).first().waitFor();
    await expectNothingRan(page);
    await page.goto(`${core.url}/admin/t/${TENANT}/plugins/${XSS_ID}`);
    await page.getByRole('heading', { name: NAME }).waitFor();
    // ctx.storage usage sits beside memory, disk and CPU.
    expect(await page.locator('.quota').textContent()).toMatch(/Storage\s*0 \/ 64 MB/);
    // A request makes the plugin log the payload again while the page is open (live feed).
    await fetch(`${core.entryUrl(TENANT, XSS_ID)}`);
    await page
      .locator('[data-log-line]', { hasText: `window.__pwned='log'` })
      .first()
      .waitFor({ timeout: 20_000 });
    await page.locator('[data-log-line]', { hasText: 'error-line' }).first().waitFor();
    expect(
      await page.getByText(`<img src=x onerror="window.__pwned='menu';alert('menu')">Menu`).count(),
    ).toBeGreaterThan(0);
    await expectNothingRan(page);
    await screenshot(page, 'xss-03-detail');
  });

  it("opens the plugin's admin page in the sandboxed frame, which cannot reach the Admin", async () => {
    await page.getByRole('link', { name: /Menu$/ }).first().click();
    const frame = page.frameLocator('iframe');
    await frame.getByRole('heading', { name: 'Evil admin page' }).waitFor();
    await expectNothingRan(page);
  });

  it("runs its entry point's pages in an opaque origin: opened on the Admin's host, they read no token and register no worker", async () => {
    const token = await page.evaluate(() => localStorage.getItem('px.admin.token'));
    expect(token).toBeTruthy();
    const tab = await suite.context.newPage();
    try {
      await tab.goto(`${core.entryUrl(TENANT, XSS_ID)}page`);
      await tab.waitForFunction(
        () => (globalThis as unknown as { document: { title: string } }).document.title === 'done',
      );
      const stolen = (await tab.evaluate(() => (globalThis as { __stolen?: unknown }).__stolen)) as {
        token: string | null;
        worker: string;
      };
      expect(stolen.token).not.toBe(token);
      expect(stolen.token).toMatch(/^blocked/);
      expect(stolen.worker).toMatch(/^blocked/);
    } finally {
      await tab.close();
    }
    // The Admin is still the Admin: no worker of the plugin answers for it.
    await page.goto(`${core.url}/admin/t/${TENANT}/plugins`);
    await page.getByText(NAME).first().waitFor();
    const registrations = await page.evaluate(async () => {
      const nav = navigator as unknown as { serviceWorker: { getRegistrations(): Promise<unknown[]> } };
      return (await nav.serviceWorker.getRegistrations()).length;
    });
    expect(registrations).toBe(0);
    await expectNothingRan(page);
  });

  it('cannot be framed by another page (clickjacking): the browser refuses to show the Admin in the frame', async () => {
    const tab = await suite.context.newPage();
    try {
      // A decoy page of another origin (about:blank here) putting the Admin in a frame.
      await tab.setContent(`<iframe id="victim" src="${core.url}/admin/t/${TENANT}/plugins"></iframe>`);
      const frame = (await (await tab.waitForSelector('#victim')).contentFrame())!;
      await frame.waitForLoadState();
      // Chromium puts its own error page in the frame instead of the Admin's (no #root of the app).
      expect(frame.url()).toMatch(/^chrome-error:/);
      expect(await frame.locator('#root').count()).toBe(0);
    } finally {
      await tab.close();
    }
  });

  it('shows audit entries about it as text', async () => {
    await page.goto(`${core.url}/admin/audit`);
    await page.getByText(XSS_ID).first().waitFor();
    await expectNothingRan(page);
    await screenshot(page, 'xss-04-audit');
  });

  it('the check above is not blind: the same payload rendered as HTML is caught', async () => {
    // Plain insertion as HTML, as an unsafe renderer would do it.
    await page.locator('body').evaluate((body, html) => body.insertAdjacentHTML('beforeend', html), NAME);
    await page.waitForTimeout(300);
    expect(await pwned(page)).toBe('name');
    expect(dialogs).toEqual(['name']);
  });
});
