/**
 * The audit log in the Admin, in a real browser (Debian's Chromium via playwright-core) against a
 * real core: the verified chain, the action filter, a JSON Lines export of every matching entry
 * and paging. No console error on the page. Screenshots go to test-artifacts/admin/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  HELLO_ID,
  TENANT,
  installThroughApi,
  navLink,
  packFixture,
  screenshot,
  useAdminSuite,
} from './admin-test-kit.ts';

const suite = useAdminSuite({ tmpPrefix: 'px-admin-audit-' });
let page: Page;
let tmp: string;

beforeAll(async () => {
  ({ page, tmp } = suite);
  // Entries to read: an install, more than a page of log reads (each one audited) so that paging
  // has somewhere to go, then an upgrade, so that the newest plugin.* entries include a validation.
  await installThroughApi(suite.core, await packFixture('hello-admin', tmp), {
    secrets: { API_KEY: 'audit' },
  });
  for (let i = 0; i < 60; i++)
    await suite.core.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}/logs?limit=1`);
  await installThroughApi(suite.core, await packFixture('hello-admin-v2', tmp), {
    secrets: { API_KEY: 'audit' },
  });
}, 60_000);

describe('the audit log in the web Admin', { timeout: 60_000 }, () => {
  it('reads the audit: chain verified, filters, paging and a JSON Lines export', async () => {
    await navLink(page, 'Audit').click();
    await page.locator('[data-chain="ok"]').waitFor();
    await page.locator('[data-audit-action]').first().waitFor();
    await screenshot(page, '14-audit');
    await page.getByLabel('Action').fill('plugin.*');
    await page.getByRole('button', { name: 'Apply' }).click();
    // The filtered page has replaced the unfiltered one when no row of another family is left.
    await page.locator('[data-audit-action]').first().waitFor();
    await page
      .locator('[data-audit-action]:not([data-audit-action^="plugin."])')
      .first()
      .waitFor({ state: 'detached' });
    const actions = await page
      .locator('[data-audit-action]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit-action')));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions).toContain('plugin.package.validate');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export JSON Lines' }).click(),
    ]);
    const file = join(tmp, 'audit.jsonl');
    await download.saveAs(file);
    const entries = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; action: string; hash: string });
    // Every matching entry (not just the page on screen), oldest first, each with its chain hash.
    expect(entries.length).toBeGreaterThanOrEqual(actions.length);
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    expect(entries.every((e) => e.action.startsWith('plugin.') && typeof e.hash === 'string')).toBe(true);
    // Paging: older entries are one click away (50 per page), and back.
    // The label changes on the click; the rows only when the page asked for has arrived, which the
    // table says (data-page, data-filtered). Reading rows on the label alone read the page before.
    const rowsOf = (pageNumber: number) =>
      page.locator(`table.audit[data-page="${pageNumber}"][data-filtered="false"][aria-busy="false"]`);
    const firstSeq = async (pageNumber: number) =>
      Number(
        await rowsOf(pageNumber).locator('[data-audit-action]').first().locator('td').first().textContent(),
      );
    // Each page answers slowly, as on a loaded machine, so that reading too early would be caught.
    await page.route('**/api/audit?*', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await page.getByRole('button', { name: 'Reset' }).click();
    await rowsOf(1).waitFor();
    const newest = await firstSeq(1);
    expect(await page.getByRole('button', { name: 'Older →' }).isEnabled()).toBe(true);
    await page.getByRole('button', { name: 'Older →' }).click();
    await rowsOf(2).waitFor();
    expect(await firstSeq(2)).toBeLessThan(newest);
    await page.getByRole('button', { name: '← Newer' }).click();
    await rowsOf(1).waitFor();
    expect(await firstSeq(1)).toBeGreaterThanOrEqual(newest);
    await page.unroute('**/api/audit?*');
  });
});
