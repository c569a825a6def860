/**
 * Shared set-up of the Admin end-to-end tests: the Admin built (rebuilt when its sources are
 * newer than dist/), a real core on a random port, fixture plugins packed into signed `.pxp`
 * files, and Debian's Chromium driven by playwright-core (never a downloaded browser), with
 * every console error of the page recorded so a test can fail on it.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  type Locator,
  type Page,
} from 'playwright-core';
import { packDirectory } from '@powerx/package-format';
import { startCore, type RunningCore, type StartCoreOptions } from '@powerx/core';
import { Api } from '../../support/core-kit.ts';

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const artifactsDir = join(repoRoot, 'test-artifacts/admin');
const keysDir = join(repoRoot, 'packages/package-format/fixtures/keys');
const fixtures = join(import.meta.dirname, 'fixtures');

export const CHROMIUM = process.env.PX_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
export const ADMIN_PASSWORD = 'e2e-admin-password';
export const HELLO_ID = 'com.fixture.admin.hello';
/** The sandbox tenant every core starts with. */
export const TENANT = 'sandbox-dev';

/** Builds packages/admin when dist/ is missing or older than its sources: the same check `npm start` runs. */
import { ensureAdminBuilt } from '../../../packages/admin/scripts/ensure-built.ts';
export { ensureAdminBuilt };

export interface E2eCore extends RunningCore {
  tmp: string;
  // Answers are read loosely in the tests (their shapes are protocol's, checked by core).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** A real core on a random port; the admin's password is known and the test key is registered for it. */
export async function startE2eCore(opts: StartCoreOptions = {}): Promise<E2eCore> {
  const tmp = await mkdtemp(join(tmpdir(), 'px-admin-e2e-'));
  let core: RunningCore;
  try {
    core = await startCore({
      dataDir: join(tmp, 'data'),
      port: 0,
      logLevel: process.env.PX_TEST_LOG_LEVEL ?? 'silent',
      platformKeysDir: false,
      processMetrics: false,
      adminPassword: ADMIN_PASSWORD,
      ...opts,
    });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(core.url + path, {
      method,
      headers: {
        authorization: `Bearer ${core.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const e2e = Object.assign(core, { tmp, api });
  // Sandbox installs trust the developer keys registered for the user who installs.
  const registered = await api('POST', '/api/me/keys', {
    publicKeyPem: await readFile(join(keysDir, 'test.pub.pem'), 'utf8'),
    name: 'e2e test key',
  });
  if (registered.status !== 201)
    throw new Error(`registering the test key failed: ${JSON.stringify(registered.body)}`);
  return e2e;
}

/** Stops core and starts it again on the same data folder and port (what an operator's restart does). */
export async function restartE2eCore(core: E2eCore, opts: StartCoreOptions = {}): Promise<E2eCore> {
  await core.close();
  const next = await startCore({
    dataDir: core.dataDir,
    port: core.port,
    logLevel: process.env.PX_TEST_LOG_LEVEL ?? 'silent',
    platformKeysDir: false,
    processMetrics: false,
    ...opts,
  });
  return Object.assign(next, { tmp: core.tmp, api: core.api });
}

export async function stopE2eCore(core: E2eCore | undefined): Promise<void> {
  if (!core) return;
  await core.close();
  await rm(core.tmp, { recursive: true, force: true });
}

/** Packs a fixture plugin folder (ours or tests/fixtures/plugins) into a signed `.pxp`. */
export async function packFixture(folder: string, outDir: string): Promise<string> {
  const dir = folder.includes('/') ? folder : join(fixtures, folder);
  const privateKeyPem = await readFile(join(keysDir, 'test.key.pem'), 'utf8');
  const name = dir.split('/').pop()!;
  return (await packDirectory(dir, join(outDir, `${name}.pxp`), { privateKeyPem })).file;
}

export function fixturePluginDir(name: string): string {
  return join(repoRoot, 'tests/fixtures/plugins', name);
}

export async function launchChromium(): Promise<Browser> {
  // playwright-core gives every launch a fresh temporary profile (user-data-dir) and removes it on close.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Network answers the Admin expects to be errors, which Chromium still reports as console errors:
 * dev-mode routes on a core without dev mode (404 with a hint). Plugin admin pages are served
 * by core, so a failed load under <entry>/_admin/ is an error of the test.
 */
const EXPECTED_FAILED_LOADS = [/\/api\/plugins\/dev\//];

export class ConsoleWatch {
  readonly errors: string[] = [];

  attach(page: Page): void {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return;
      const url = message.location().url ?? '';
      if (
        message.text().startsWith('Failed to load resource') &&
        EXPECTED_FAILED_LOADS.some((re) => re.test(url))
      )
        return;
      this.errors.push(`${message.text()} (${url})`);
    });
    page.on('pageerror', (error) => this.errors.push(`page error: ${error.message}`));
  }

  take(): string[] {
    return this.errors.splice(0);
  }
}

export async function newAdminPage(
  browser: Browser,
  width = 1280,
  height = 900,
): Promise<{ context: BrowserContext; page: Page; console: ConsoleWatch }> {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  // PX_E2E_SLOW_API=600 holds each API call for a random 0–600 ms (answers then arrive out of
  // order, as on a loaded machine): a test that reads the page before its data fails at once.
  const slow = Number(process.env.PX_E2E_SLOW_API ?? 0);
  if (slow > 0)
    await context.route('**/api/**', async (route) => {
      await new Promise((r) => setTimeout(r, Math.random() * slow));
      await route.continue();
    });
  const watch = new ConsoleWatch();
  watch.attach(page);
  // Only the Admin's page is watched: tabs it opens (the plugin's entry point) are the plugin's.
  return { context, page, console: watch };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in on the Admin's sign-in page with user and password and waits for the plugins list. */
export async function signIn(
  page: Page,
  base: string,
  user = 'admin',
  password = ADMIN_PASSWORD,
): Promise<void> {
  await page.goto(`${base}/admin/`);
  await page.getByLabel('User', { exact: true }).fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Plugins' }).waitFor();
}

/** A link of the Admin's main navigation. */
export function navLink(page: Page, name: string): Locator {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/** Hands a `.pxp` to the install page's drop zone (through its file input). */
export async function dropPackage(page: Page, file: string): Promise<void> {
  await page.locator('[data-dropzone] input[type=file]').setInputFiles(file);
}

/** Installs a `.pxp` through the API and waits until it runs: set-up for tests of what follows an install. */
export async function installThroughApi(
  core: E2eCore,
  file: string,
  config: { env?: Record<string, string | number>; secrets?: Record<string, string>; logLevel?: string },
  tenant = TENANT,
): Promise<void> {
  const installed = await new Api(core.url, core.adminToken).install(file, { tenant, config });
  if (installed.body?.state !== 'running')
    throw new Error(`installing ${file} failed: ${JSON.stringify(installed.body)}`);
}

/** What one Admin suite works with; filled in before its first test. */
export interface AdminSuite {
  /** The suite's core (a test that restarts it puts the new one here, so it is the one stopped). */
  core: E2eCore;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  console: ConsoleWatch;
  /** A temporary folder of the suite (packed fixtures, downloads), removed after it. */
  tmp: string;
  url(path: string): string;
}

export interface AdminSuiteOptions {
  /** Prefix of the suite's temporary folder. */
  tmpPrefix: string;
  /** Options of the suite's core, or a function of the temporary folder that makes them. */
  core?: StartCoreOptions | ((tmp: string) => Promise<StartCoreOptions>);
  /** Signed in as admin before the first test (default true). */
  signedIn?: boolean;
  /** Fail every test after which the page logged a console error (default true). */
  failOnConsoleErrors?: boolean;
}

/**
 * Registers the hooks of one Admin suite: before all, the Admin built, a temporary folder, a real
 * core, Chromium and one page (signed in as admin unless told otherwise); after each test, no
 * console error on that page; after all, everything closed and removed.
 */
export function useAdminSuite(opts: AdminSuiteOptions): AdminSuite {
  const suite = {
    url: (path: string) => suite.core.url + path,
  } as AdminSuite;
  beforeAll(async () => {
    await ensureAdminBuilt();
    suite.tmp = await mkdtemp(join(tmpdir(), opts.tmpPrefix));
    const coreOptions = typeof opts.core === 'function' ? await opts.core(suite.tmp) : opts.core;
    suite.core = await startE2eCore(coreOptions);
    suite.browser = await launchChromium();
    ({
      context: suite.context,
      page: suite.page,
      console: suite.console,
    } = await newAdminPage(suite.browser));
    if (opts.signedIn !== false) await signIn(suite.page, suite.core.url);
  }, 120_000);
  if (opts.failOnConsoleErrors !== false)
    afterEach(() => {
      // No console error on any page of the Admin, whatever the test did.
      expect(suite.console.take()).toEqual([]);
    });
  afterAll(async () => {
    await suite.context?.close().catch(() => {});
    await suite.browser?.close().catch(() => {});
    await stopE2eCore(suite.core);
    if (suite.tmp) await rm(suite.tmp, { recursive: true, force: true });
  }, 60_000);
  return suite;
}
