/**
 * Signing in to the Admin and finding one's way, in a real browser (Debian's Chromium via
 * playwright-core) against a real dev-mode core: user and password (the session survives a
 * reload), the production tenant read only, the narrow layout, the keyboard, and signing out then
 * in again with an API token. The tests run in order and share one core and one browser; no
 * console error on any page. Screenshots go to test-artifacts/admin/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  ADMIN_PASSWORD,
  HELLO_ID,
  TENANT,
  installThroughApi,
  navLink,
  newAdminPage,
  packFixture,
  screenshot,
  signIn,
  useAdminSuite,
  type E2eCore,
} from './admin-test-kit.ts';

const suite = useAdminSuite({ tmpPrefix: 'px-admin-sign-in-', core: { devMode: true }, signedIn: false });
const url = suite.url;
let core: E2eCore;
let browser: Browser;
let page: Page;

beforeAll(() => {
  ({ core, browser, page } = suite);
});

describe('signing in to the web Admin and finding one’s way', { timeout: 60_000 }, () => {
  it('signs in with user and password and keeps the session over a reload', async () => {
    await page.goto(url('/admin/'));
    await page.getByRole('heading', { name: 'PowerX Admin' }).waitFor();
    await screenshot(page, '01-sign-in');
    await signIn(page, core.url);
    expect(page.url()).toBe(url(`/admin/t/${TENANT}/plugins`));
    await page.getByText('No plugin installed in this tenant yet.').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Plugins' }).waitFor();
    expect(await page.locator('[data-tenant-kind]').getAttribute('data-tenant-kind')).toBe('sandbox');
    await screenshot(page, '02-plugins-empty');
  });

  it('marks the production tenant and hides dev actions there', async () => {
    await page.getByLabel('Tenant', { exact: true }).selectOption('default');
    await page.waitForURL(url('/admin/t/default/plugins'));
    await page.getByText('Production tenant: plugins are shown read only.').waitFor();
    expect(await page.locator('[data-tenant-kind]').textContent()).toContain('Production');
    expect(await navLink(page, 'Install').count()).toBe(0);
    expect(await navLink(page, 'Dev sessions').count()).toBe(0);
    await screenshot(page, '03-production-tenant');
    await page.getByLabel('Tenant', { exact: true }).selectOption(TENANT);
    await page.waitForURL(url(`/admin/t/${TENANT}/plugins`));
  });

  it('works at 800 px: the menu folds into a button and the pages fit', async () => {
    // A plugin to open on the narrow page.
    await installThroughApi(core, await packFixture('hello-admin', suite.tmp), {
      secrets: { API_KEY: 'narrow' },
    });
    const narrow = await newAdminPage(browser, 800, 900);
    try {
      await signIn(narrow.page, core.url);
      const nav = narrow.page.getByRole('navigation', { name: 'Main' });
      expect(await nav.isVisible()).toBe(false);
      await narrow.page.getByRole('button', { name: 'Menu' }).click();
      expect(await nav.isVisible()).toBe(true);
      await screenshot(narrow.page, '17-narrow-menu');
      await nav.getByRole('link', { name: 'Plugins', exact: true }).click();
      await narrow.page.locator(`tr[data-plugin="${HELLO_ID}"] a`).click();
      await narrow.page.getByRole('heading', { name: 'Hello Admin' }).waitFor();
      const overflow = await narrow.page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(narrow.page, '18-narrow-plugin-detail');
      expect(narrow.console.take()).toEqual([]);
    } finally {
      await narrow.context.close();
    }
  });

  it('can be used with the keyboard: sign in, then reach the navigation with Tab', async () => {
    const kb = await newAdminPage(browser);
    try {
      await kb.page.goto(url('/admin/'));
      await kb.page.getByLabel('User', { exact: true }).waitFor();
      await kb.page.keyboard.type('admin');
      await kb.page.keyboard.press('Tab');
      await kb.page.keyboard.type(ADMIN_PASSWORD);
      await kb.page.keyboard.press('Enter');
      await kb.page.getByRole('heading', { name: 'Plugins' }).waitFor();
      const focused: string[] = [];
      for (let i = 0; i < 12; i++) {
        await kb.page.keyboard.press('Tab');
        focused.push(await kb.page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''"));
      }
      expect(focused).toContain('Install');
      expect(focused).toContain('Audit');
      expect(kb.console.take()).toEqual([]);
    } finally {
      await kb.context.close();
    }
  });

  it('signs out, and signs in again with an API token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'PowerX Admin' }).waitFor();
    await page.getByRole('tab', { name: 'API token' }).click();
    await page.getByLabel('API token').fill(core.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Plugins' }).waitFor();
  });
});
