/**
 * Installs from a developer's folder in the Admin, in a real browser (Debian's Chromium via
 * playwright-core) against a real core: by path and by a picked folder, the reloads on the dev
 * sessions page, a picked project without build output refused with a hint, and a core without
 * dev mode saying so. The tests run in order and share one browser; no console error on any page.
 * Screenshots go to test-artifacts/admin/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  fixturePluginDir,
  navLink,
  newAdminPage,
  screenshot,
  signIn,
  startE2eCore,
  stopE2eCore,
  useAdminSuite,
} from './admin-test-kit.ts';

// Path installs read the developer's folder under the temp folder: a dev root only when listed
// (the dev policy has none by default).
process.env.PX_DEV_ROOTS = tmpdir();

const suite = useAdminSuite({ tmpPrefix: 'px-admin-dev-', core: { devMode: true } });
let browser: Browser;
let page: Page;
let tmp: string;

beforeAll(() => {
  ({ browser, page, tmp } = suite);
});

describe('installs from a local directory in the web Admin', { timeout: 60_000 }, () => {
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
});

describe('the web Admin on a core without dev mode', { timeout: 60_000 }, () => {
  it('says so on the dev sessions page and for installs from a local directory, with the hint', async () => {
    const plain = await startE2eCore({ devMode: false });
    const tab = await newAdminPage(browser);
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
