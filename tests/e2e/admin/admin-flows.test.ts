/**
 * The Admin in a real browser (Debian's Chromium via playwright-core) against a real core on a
 * random port: sign in, validation report with hints, the wizard with a secret, running, the
 * entry point, live log lines, the plugin's admin page, rollback, audit, dev sessions, sign out,
 * token sign-in, the narrow layout and the keyboard. The tests run in order and share one core
 * and one browser; every page must end with no console error. Screenshots of each main page
 * go to test-artifacts/admin/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  ADMIN_PASSWORD,
  HELLO_ID,
  ensureAdminBuilt,
  fixturePluginDir,
  launchChromium,
  newAdminPage,
  packFixture,
  restartE2eCore,
  screenshot,
  startE2eCore,
  stopE2eCore,
  type ConsoleWatch,
  type E2eCore,
} from './admin-test-kit.ts';

// Path installs read the developer's folder under the temp folder: a dev root only when listed
// (the dev policy has none by default).
process.env.PX_DEV_ROOTS = tmpdir();

let core: E2eCore | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let consoleWatch: ConsoleWatch;
let packages: { hello: string; helloV2: string; futureCore: string; unhealthy: string };
let tmp: string;

const TENANT = 'sandbox-dev';

function url(path: string): string {
  return core!.url + path;
}

async function signIn(p: Page, base = core!.url): Promise<void> {
  await p.goto(`${base}/admin/`);
  await p.getByLabel('User', { exact: true }).fill('admin');
  await p.getByLabel('Password').fill(ADMIN_PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Plugins' }).waitFor();
}

function navLink(p: Page, name: string) {
  return p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function dropPackage(p: Page, file: string): Promise<void> {
  await p.locator('[data-dropzone] input[type=file]').setInputFiles(file);
}

beforeAll(async () => {
  await ensureAdminBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'px-admin-pkgs-'));
  packages = {
    hello: await packFixture('hello-admin', tmp),
    helloV2: await packFixture('hello-admin-v2', tmp),
    futureCore: await packFixture(fixturePluginDir('future-core'), tmp),
    unhealthy: await packFixture(fixturePluginDir('hello-unhealthy'), tmp),
  };
  core = await startE2eCore({ devMode: true });
  browser = await launchChromium();
  ({ context, page, console: consoleWatch } = await newAdminPage(browser));
}, 120_000);

afterEach(() => {
  // No console error on any page of the Admin, whatever the test did.
  expect(consoleWatch.take()).toEqual([]);
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await stopE2eCore(core);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

describe('the web Admin', { timeout: 60_000 }, () => {
  it('signs in with user and password and keeps the session over a reload', async () => {
    await page.goto(url('/admin/'));
    await page.getByRole('heading', { name: 'PowerX Admin' }).waitFor();
    await screenshot(page, '01-sign-in');
    await signIn(page);
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
    const plugins = await core!.api('GET', `/api/tenants/${TENANT}/plugins`);
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

  it('shows the plugin with its config (secret only as set), opens the entry point and sees its log lines arrive', async () => {
    await page.getByRole('link', { name: 'Open the plugin page' }).click();
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

  it('rolls back to the last stable version after an upgrade, with confirmation', async () => {
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
    const plugin = await core!.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}`);
    expect(plugin.body.version).toBe('1.0.0');
  });

  it('lists the plugin with status, version, last stable and usage', async () => {
    await navLink(page, 'Plugins').click();
    const row = page.locator(`tr[data-plugin="${HELLO_ID}"]`);
    await row.waitFor();
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('running');
    await screenshot(page, '13-plugins-list');
  });

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
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.getByText('Page 1').waitFor();
    const newest = await page.locator('[data-audit-action]').first().locator('td').first().textContent();
    if (await page.getByRole('button', { name: 'Older →' }).isEnabled()) {
      await page.getByRole('button', { name: 'Older →' }).click();
      await page.getByText('Page 2').waitFor();
      expect(
        Number(await page.locator('[data-audit-action]').first().locator('td').first().textContent()),
      ).toBeLessThan(Number(newest));
      await page.getByRole('button', { name: '← Newer' }).click();
      await page.getByText('Page 1').waitFor();
    }
  });

  it('installs from a local directory (path, then a picked folder) and the reloads show up in the dev sessions page', async () => {
    // The developer's build folder, under the system temp folder (an allowed dev root here, see above).
    const project = join(tmp, 'dev-hello');
    await cp(fixturePluginDir('hello'), project, { recursive: true });
    await navLink(page, 'Install').click();
    await page.getByLabel("Path on core's filesystem").fill(project);
    await page.getByRole('button', { name: 'Install from path' }).click();
    await page.locator('[data-dev-result="running"]').waitFor({ timeout: 45_000 });
    await screenshot(page, '15-install-from-directory');
    // A save: the version changes, and the folder is picked in the browser and uploaded as a build.
    const manifestPath = join(project, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { version: string };
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: '1.0.1' }, null, 2));
    await page.locator('#dev-folder').setInputFiles(project);
    await page.locator('[data-dev-result="running"]', { hasText: '1.0.1' }).waitFor({ timeout: 45_000 });
    // A broken save: the new version throws at start, 1.0.1 keeps serving.
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: '1.0.2' }, null, 2));
    await writeFile(
      join(project, 'dist/server.js'),
      "throw new Error('broken on purpose by the e2e test');\n",
    );
    await page.locator('#dev-folder').setInputFiles(project);
    await page.locator('[data-dev-result="failed"]').waitFor({ timeout: 45_000 });
    await page.getByRole('link', { name: 'Dev sessions' }).last().click();
    const plugin = page.locator('[data-dev-plugin="com.fixture.core.hello"]');
    await plugin.waitFor();
    // From core's GET /api/plugins/dev/sessions: the active session and its reloads, newest first.
    expect(await plugin.locator('[data-session-state="active"]').count()).toBe(1);
    await plugin.locator('[data-reload-result="running"]').nth(1).waitFor();
    expect(await plugin.locator('[data-reload-result]').count()).toBe(3);
    const failed = plugin.locator('[data-reload-result="failed"]');
    expect(await failed.locator('[data-rollback-code]').getAttribute('data-rollback-code')).toBeTruthy();
    const reason = (await failed.textContent()) ?? '';
    expect(reason).toContain('Hint:');
    expect(reason).toContain('1.0.1 kept serving');
    await screenshot(page, '16-dev-sessions');
    // The log panel marks the reload between the two versions.
    await plugin.getByRole('link', { name: 'com.fixture.core.hello' }).click();
    await page.locator('[data-reload]').first().waitFor({ timeout: 20_000 });
  });

  it('refuses a picked folder that is a project without build output, with a hint', async () => {
    const project = join(tmp, 'dev-project-only');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'plugin.yaml'), 'id: com.example.only\n');
    await navLink(page, 'Install').click();
    await page.locator('#dev-folder').setInputFiles(project);
    const error = page.locator('.state-error', { hasText: 'without build output' });
    await error.waitFor();
    expect(await error.textContent()).toContain('Hint: Run `px-plugin build`');
  });

  it('works at 800 px: the menu folds into a button and the pages fit', async () => {
    const narrow = await newAdminPage(browser!, 800, 900);
    try {
      await signIn(narrow.page);
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
    const kb = await newAdminPage(browser!);
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

  it('reconnects the live log after a core restart and shows the lines that follow', async () => {
    await navLink(page, 'Plugins').click();
    await page.locator(`tr[data-plugin="${HELLO_ID}"] a`).click();
    await page.locator('[data-feed-status="live"]').waitFor();
    core = await restartE2eCore(core!, { devMode: true });
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

  it('signs out, and signs in again with an API token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'PowerX Admin' }).waitFor();
    await page.getByRole('tab', { name: 'API token' }).click();
    await page.getByLabel('API token').fill(core!.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Plugins' }).waitFor();
  });
});

describe('the web Admin on a core without dev mode', { timeout: 60_000 }, () => {
  it('says so on the dev sessions page and for installs from a local directory, with the hint', async () => {
    const plain = await startE2eCore({ devMode: false });
    const tab = await newAdminPage(browser!);
    try {
      await signIn(tab.page, plain.url);
      await navLink(tab.page, 'Dev sessions').click();
      const off = tab.page.locator('.state-unavailable', { hasText: 'This core is not in dev mode.' });
      await off.waitFor();
      expect(await off.textContent()).toContain('PX_PLUGIN_DEV_MODE=1');
      await screenshot(tab.page, '19-dev-mode-off');
      await navLink(tab.page, 'Install').click();
      await tab.page.getByLabel("Path on core's filesystem").fill(fixturePluginDir('hello'));
      await tab.page.getByRole('button', { name: 'Install from path' }).click();
      await tab.page
        .locator('.state-unavailable', { hasText: 'Dev installs are not available on this core.' })
        .waitFor();
      expect(tab.console.take()).toEqual([]);
    } finally {
      await tab.context.close();
      await stopE2eCore(plain);
    }
  });
});
