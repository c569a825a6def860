/**
 * A running plugin's page in the Admin, in a real browser (Debian's Chromium via playwright-core)
 * against a real dev-mode core: its configuration (the secret only as set), the entry point, live
 * log lines and the log panel's controls, the plugin's own admin page in a sandboxed frame,
 * reconfigure and restart, and the live log coming back after a core restart. The plugin is
 * installed through the API first (installing through the Admin: admin-install-and-rollback).
 * The tests run in order and share one core and one browser; no console error on any page.
 * Screenshots go to test-artifacts/admin/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import {
  HELLO_ID,
  TENANT,
  installThroughApi,
  navLink,
  packFixture,
  restartE2eCore,
  screenshot,
  useAdminSuite,
  type ConsoleWatch,
  type E2eCore,
} from './admin-test-kit.ts';

const suite = useAdminSuite({ tmpPrefix: 'px-admin-plugin-page-', core: { devMode: true } });
const url = suite.url;
let core: E2eCore;
let context: BrowserContext;
let page: Page;
let consoleWatch: ConsoleWatch;

beforeAll(async () => {
  ({ core, context, page, console: consoleWatch } = suite);
  // What the install wizard of admin-install-and-rollback fills in.
  await installThroughApi(core, await packFixture('hello-admin', suite.tmp), {
    env: { GREETING: 'hello from the wizard', TIMES: 3, MODE: 'fast' },
    secrets: { API_KEY: 's3cret-value-never-shown' },
    logLevel: 'debug',
  });
}, 60_000);

describe("a plugin's page in the web Admin", { timeout: 60_000 }, () => {
  it('shows the plugin with its config (secret only as set), opens the entry point and sees its log lines arrive', async () => {
    await navLink(page, 'Plugins').click();
    await page.locator(`tr[data-plugin="${HELLO_ID}"] a`).click();
    await page.getByRole('heading', { name: 'Hello Admin' }).waitFor();
    expect(await page.locator('[data-fact="version"]').textContent()).toBe('1.0.0');
    await page.locator('[data-secret-state="set"]').waitFor();
    expect(await page.content()).not.toContain('s3cret-value-never-shown');
    // The start line is there (backfill) ...
    await page
      .locator('[data-log-line]', { hasText: 'hello-admin started' })
      .first()
      .waitFor({ timeout: 20_000 });
    const before = await page.locator('[data-log-line]', { hasText: 'greeting served' }).count();
    // ... and a request to the entry point makes a new line appear without reloading the page.
    const [entry] = await Promise.all([
      context.waitForEvent('page'),
      page.locator('.facts [data-entry-link]').click(),
    ]);
    await entry.waitForLoadState();
    expect(JSON.parse(await entry.locator('body').innerText())).toMatchObject({
      plugin: HELLO_ID,
      greeting: 'hello from the wizard',
      mode: 'fast',
      hasApiKey: true,
    });
    await entry.close();
    await page
      .locator('[data-log-line]', { hasText: 'greeting served' })
      .nth(before)
      .waitFor({ timeout: 20_000 });
    // Level filter and search narrow the lines.
    await page.getByLabel('Search the log').fill('no line says this');
    await page.getByText('No line matches the filter.').waitFor();
    await page.getByLabel('Search the log').fill('');
    await screenshot(page, '08-plugin-detail');
  });

  it('log panel: level filter, pause and resume, autoscroll that stops when scrolled up', async () => {
    const entry = url(`/_p/${TENANT}/${HELLO_ID}/`);
    const lines = page.locator('[data-log-line]');
    await fetch(entry + 'warn');
    await page.locator('[data-log-line]', { hasText: 'something to look at' }).waitFor();
    await page.getByLabel('Minimum level').selectOption('warn');
    await page
      .locator('[data-log-line]', { hasText: 'greeting served' })
      .first()
      .waitFor({ state: 'detached' });
    expect(await lines.count()).toBe(1);
    await page.getByLabel('Minimum level').selectOption('trace');
    // Paused: new lines wait; resume shows how many arrived and adds them.
    await page.getByRole('button', { name: 'Pause' }).click();
    const shown = await lines.count();
    for (let i = 0; i < 3; i++) await fetch(entry);
    await page.getByRole('button', { name: /Resume \(\d+ new\)/ }).waitFor({ timeout: 20_000 });
    expect(await lines.count()).toBe(shown);
    await page.getByRole('button', { name: /Resume/ }).click();
    await lines.nth(shown).waitFor();
    // Enough lines to scroll; scrolled to the end while following, and not any more once scrolled up.
    for (let i = 0; i < 30; i++) await fetch(entry);
    await lines.nth(shown + 30).waitFor({ timeout: 20_000 });
    const box = page.getByRole('log', { name: 'Log lines' });
    const atEnd = () => box.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 30);
    // React scrolls after it renders the new lines: wait for it rather than sampling once.
    await expect.poll(atEnd, { timeout: 5_000 }).toBe(true);
    await box.evaluate((el) => el.scrollTo({ top: 0 }));
    await page.getByRole('button', { name: '↓ Jump to latest' }).waitFor();
    const count = await lines.count();
    await fetch(entry);
    await lines.nth(count).waitFor();
    expect(await box.evaluate((el) => el.scrollTop)).toBe(0);
    await page.getByRole('button', { name: '↓ Jump to latest' }).click();
    await expect.poll(atEnd, { timeout: 5_000 }).toBe(true);
  });

  it("opens the plugin's admin page from its manifest menu in a sandboxed iframe, and the page shows data from its backend", async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /Hello overview/ })
      .click();
    await page.getByRole('heading', { name: 'Hello overview' }).waitFor();
    const frame = page.locator('iframe.plugin-frame');
    await frame.waitFor();
    expect(await page.locator('.state-unavailable').count()).toBe(0);
    // Scripts run, but without same-origin rights: the page cannot read the Admin's token.
    expect(await frame.getAttribute('sandbox')).toBe('allow-scripts allow-forms allow-popups');
    expect(await frame.getAttribute('src')).toBe(`/_p/${TENANT}/${HELLO_ID}/_admin/`);
    const inFrame = page.frameLocator('iframe.plugin-frame');
    await inFrame.getByRole('heading', { name: 'Hello overview' }).waitFor();
    // The page's own fetch('../') to the plugin (cross-origin from the opaque frame, allowed by core's CORS).
    await inFrame.locator('#greeting', { hasText: '(version ' }).waitFor({ timeout: 15_000 });
    expect(await inFrame.locator('#greeting').textContent()).not.toContain('unreachable');
    await screenshot(page, '09-plugin-admin-page');
  });

  it('re-opens the wizard (secrets only as set), applies a new configuration, and restarts with confirmation', async () => {
    await navLink(page, 'Plugins').click();
    await page.locator(`tr[data-plugin="${HELLO_ID}"] a`).click();
    await page.getByRole('button', { name: 'Edit configuration' }).click();
    expect(await page.getByLabel(/^GREETING/).inputValue()).toBe('hello from the wizard');
    expect(await page.locator('form.wizard [data-secret-state="set"]').count()).toBe(1);
    expect(await page.getByLabel(/^API_KEY/).inputValue()).toBe('');
    await page.getByLabel(/^GREETING/).fill('reconfigured');
    await screenshot(page, '10-reconfigure');
    await page.getByRole('button', { name: 'Apply and restart' }).click();
    await page
      .locator('[data-install-state="running"]', { hasText: 'Applying the new configuration' })
      .waitFor({ timeout: 45_000 });
    await page.locator('.kv td', { hasText: 'reconfigured' }).waitFor();
    const served = (await (await fetch(url(`/_p/${TENANT}/${HELLO_ID}/`))).json()) as {
      greeting: string;
      hasApiKey: boolean;
    };
    expect(served).toMatchObject({ greeting: 'reconfigured', hasApiKey: true });
    await page.getByRole('button', { name: 'Restart' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Restart' }).click();
    await page
      .locator('[data-install-state="running"]', { hasText: 'Restarting' })
      .waitFor({ timeout: 45_000 });
  });

  it('reconnects the live log after a core restart and shows the lines that follow', async () => {
    await navLink(page, 'Plugins').click();
    await page.locator(`tr[data-plugin="${HELLO_ID}"] a`).click();
    await page.locator('[data-feed-status="live"]').waitFor();
    core = suite.core = await restartE2eCore(core, { devMode: true });
    // The panel noticed and came back by itself (same data dir and port, plugins restarted by recovery).
    await page.locator('[data-feed-status="live"]').waitFor({ timeout: 30_000 });
    await fetch(url(`/_p/${TENANT}/${HELLO_ID}/`));
    const served = page.locator('[data-log-line]', { hasText: 'greeting served' });
    const before = await served.count();
    await fetch(url(`/_p/${TENANT}/${HELLO_ID}/`));
    await served.nth(before).waitFor({ timeout: 20_000 });
    // While core was down the browser logged its refused connections; those, and only those, are expected here.
    const unexpected = consoleWatch
      .take()
      .filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(e));
    expect(unexpected).toEqual([]);
  });
});
