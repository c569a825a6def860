/**
 * Shared set-up of the Admin end-to-end tests: the Admin built (rebuilt when its sources are
 * newer than dist/), a real core on a random port, fixture plugins packed into signed `.pxp`
 * files, and Debian's Chromium driven by playwright-core (never a downloaded browser), with
 * every console error of the page recorded so a test can fail on it.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { packDirectory } from '@powerx/package-format';
import { startCore, type RunningCore, type StartCoreOptions } from '@powerx/core';

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

/** Builds packages/admin when dist/ is missing or older than its sources: the same check `npm start` runs. */
export { ensureAdminBuilt } from '../../../packages/admin/scripts/ensure-built.ts';

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
