/**
 * The Admin's install progress in a real browser (Debian's Chromium via playwright-core) against
 * a real core: the stages arrive live over /api/ws (channel plugin.install.progress) — the page
 * receives one frame per stage, in order, and reads the install over REST only when it settled and
 * as the slow backstop against lost frames, never at the polling pace — for an install that reaches
 * running and for one that fails with its code and hint.
 * Screenshots go to test-artifacts/admin/ (prefix `progress-`).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  ADMIN_PASSWORD,
  ensureAdminBuilt,
  fixturePluginDir,
  launchChromium,
  newAdminPage,
  packFixture,
  screenshot,
  startE2eCore,
  stopE2eCore,
  type ConsoleWatch,
  type E2eCore,
} from './admin-test-kit.ts';
import { INSTALL_STAGES } from '@powerx/protocol';

const TENANT = 'sandbox-dev';
/** Every stage of an install that goes through, in order (protocol's list). */
const PIPELINE: readonly string[] = INSTALL_STAGES;

let core: E2eCore | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let consoleWatch: ConsoleWatch;
let tmp: string;
let hello: string;
let unhealthy: string;
/** Progress the page received over its WebSockets (snapshot, then live frames), and its REST reads of installs. */
const progressFrames: Array<{ installId: string; stage: string; state: string; live?: boolean }> = [];
const installReads: string[] = [];

beforeAll(async () => {
  await ensureAdminBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'px-admin-progress-'));
  hello = await packFixture('hello-admin', tmp);
  unhealthy = await packFixture(fixturePluginDir('hello-unhealthy'), tmp);
  core = await startE2eCore();
  browser = await launchChromium();
  ({ context, page, console: consoleWatch } = await newAdminPage(browser));
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      const frame = JSON.parse(String(payload)) as {
        type: string;
        progress?: (typeof progressFrames)[0];
        installs?: typeof progressFrames;
      };
      if (frame.type === 'progress_snapshot') progressFrames.push(...frame.installs!);
      if (frame.type === 'progress') progressFrames.push({ ...frame.progress!, live: true });
    }),
  );
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (/^\/api\/installs\/[^/]+$/.test(path) && request.method() === 'GET') installReads.push(path);
  });
  await page.goto(`${core.url}/admin/`);
  await page.getByLabel('User', { exact: true }).fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Plugins' }).waitFor();
}, 120_000);

afterEach(() => {
  expect(consoleWatch.take()).toEqual([]);
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await stopE2eCore(core);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

async function startInstall(pxp: string, fill: (p: Page) => Promise<void> = async () => {}): Promise<void> {
  await page.goto(`${core!.url}/admin/t/${TENANT}/install`);
  await page.locator('[data-dropzone] input[type=file]').setInputFiles(pxp);
  await page.getByText('all checks passed').waitFor();
  await fill(page);
  await page.getByRole('button', { name: 'Install', exact: true }).click();
}

const framesOf = (installId: string) => progressFrames.filter((p) => p.installId === installId);

describe('the Admin shows install progress live', { timeout: 90_000 }, () => {
  it('receives every stage of an install over /api/ws, in order, and reads the install over REST only as a backstop and once it runs', async () => {
    const started = Date.now();
    await startInstall(hello, (p) => p.getByLabel(/^API_KEY/).fill('progress-e2e-secret'));
    const running = page.locator('[data-install-state="running"][data-progress-feed="live"]');
    // Settled either way first, so that a failure under load says why.
    await page.locator('[data-install-state="running"], [data-install-state="failed"]').waitFor({
      timeout: 45_000,
    });
    expect(await page.locator('section.progress .state-error').allTextContents()).toEqual([]);
    await running.waitFor();
    expect(await running.textContent()).toContain('· live');
    const installId = progressFrames.find((p) => p.state === 'running')!.installId;
    // The snapshot (the install as it was when the page subscribed), then each later stage live, once.
    const seen = framesOf(installId).map((p) => p.stage);
    expect(seen).toEqual(PIPELINE.slice(PIPELINE.indexOf(seen[0])));
    expect(framesOf(installId).filter((p) => p.live).length).toBeGreaterThanOrEqual(3);
    for (const stage of PIPELINE)
      expect(await running.locator(`[data-stage="${stage}"].stage-ok`).count()).toBe(1);
    await running.locator('[data-entry-link]').waitFor();
    // Live, not polled: besides the read once it settled, the install is read at most once per
    // LIVE_CHECK_MS (2 s, the backstop against lost frames) of the time the page followed it. A
    // bound from the elapsed time, so a slow machine only loosens it.
    const backstopReads = Math.floor((Date.now() - started) / 2_000);
    expect(installReads.filter((p) => p.endsWith(installId)).length).toBeLessThanOrEqual(2 + backstopReads);
    expect(await page.content()).not.toContain('progress-e2e-secret');
    await screenshot(page, 'progress-01-install-running-live');
  });

  it('shows a failed install live, with the failed stage, its code and hint', async () => {
    await startInstall(unhealthy);
    const failed = page.locator('[data-install-state="failed"][data-progress-feed="live"]');
    await failed.waitFor({ timeout: 45_000 });
    const installId = progressFrames.filter((p) => p.state === 'failed').at(-1)!.installId;
    expect(
      framesOf(installId)
        .map((p) => p.stage)
        .slice(-2),
    ).toEqual(['rolling_back', 'failed']);
    const alert = failed.locator('.state-error');
    expect(await alert.textContent()).toMatch(/Failed at [a-z ]+: HEALTH_/);
    expect(await alert.textContent()).toMatch(/Hint: .+/);
    await screenshot(page, 'progress-02-install-failed-live');
  });
});
