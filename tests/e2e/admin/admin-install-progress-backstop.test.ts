/**
 * The Admin's install progress when live frames get lost, in a real browser (Debian's Chromium via
 * playwright-core) against a real core: the page's `/api/ws` goes through playwright's WebSocket
 * route, which passes every frame except the `plugin.install.progress` frames after the snapshot
 * (what a proxy or a lost bus message would do). The page still reaches the install's final state,
 * from its REST re-reads, and stays on the live feed. Screenshots go to test-artifacts/admin/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { TENANT, dropPackage, packFixture, screenshot, useAdminSuite } from './admin-test-kit.ts';

const suite = useAdminSuite({ tmpPrefix: 'px-admin-backstop-' });
let page: Page;
let hello: string;
/** What the route saw of the progress channel: the snapshots passed, the live frames swallowed. */
const snapshots: Array<{ installId: string; state: string }> = [];
const swallowed: Array<{ installId: string; state: string }> = [];

beforeAll(async () => {
  page = suite.page;
  hello = await packFixture('hello-admin', suite.tmp);
  await page.routeWebSocket(/\/api\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => server.send(message));
    server.onMessage((message) => {
      const frame = JSON.parse(String(message)) as {
        type: string;
        installs?: typeof snapshots;
        progress?: (typeof swallowed)[0];
      };
      if (frame.type === 'progress') return void swallowed.push(frame.progress!);
      if (frame.type === 'progress_snapshot') snapshots.push(...frame.installs!);
      ws.send(message);
    });
    ws.onClose((code, reason) => server.close({ code, reason }));
    server.onClose((code, reason) => ws.close({ code, reason }));
  });
}, 60_000);

describe('the Admin install progress without its live frames', { timeout: 120_000 }, () => {
  it('still shows the install running, from re-reading it over REST, when every progress frame after the snapshot is lost', async () => {
    await page.goto(suite.url(`/admin/t/${TENANT}/install`));
    await dropPackage(page, hello);
    await page.getByText('all checks passed').waitFor();
    await page.getByLabel(/^API_KEY/).fill('backstop-e2e-secret');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    // Settled either way first, so that a failure under load says why.
    const settled = page.locator('[data-install-state="running"], [data-install-state="failed"]');
    await settled.waitFor({ timeout: 90_000 });
    expect(await page.locator('section.progress .state-error').allTextContents()).toEqual([]);
    const running = page.locator('[data-install-state="running"][data-progress-feed="live"]');
    await running.waitFor();
    await running.locator('[data-entry-link]').waitFor();
    // The page subscribed before the install settled, and the running state never reached it live.
    const installId = snapshots.at(-1)!.installId;
    expect(snapshots.filter((p) => p.installId === installId).map((p) => p.state)).toEqual(['in_progress']);
    const lost = swallowed.filter((p) => p.installId === installId);
    expect(lost.map((p) => p.state)).toContain('running');
    expect(await page.content()).not.toContain('backstop-e2e-secret');
    await screenshot(page, 'progress-03-install-running-without-live-frames');
  });
});
