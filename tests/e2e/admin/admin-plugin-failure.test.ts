/**
 * A plugin that failed while running, with no stable version to take over (the hello-crash-loop
 * fixture, armed to crash at every restart), in a real browser against a real core: the plugin
 * page says where it failed, with the code, the message and the hint, as text.
 * Screenshot: test-artifacts/admin/plugin-failed-while-running.png.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { until } from '../../support/until.ts';
import {
  TENANT,
  fixturePluginDir,
  installThroughApi,
  packFixture,
  screenshot,
  useAdminSuite,
  type E2eCore,
} from './admin-test-kit.ts';

const CRASH_LOOP_ID = 'com.fixture.core.hello';

const suite = useAdminSuite({
  tmpPrefix: 'px-admin-failure-',
  // Fast restarts, so the crash loop is detected in a second or two.
  core: { supervisor: { restartBackoffMs: 100 } },
});
let core: E2eCore;
let page: Page;

beforeAll(async () => {
  ({ core, page } = suite);
  await installThroughApi(core, await packFixture(fixturePluginDir('hello-crash-loop'), suite.tmp), {});
}, 60_000);

describe('a failed plugin in the Admin', () => {
  it('shows that it failed while running, with the code, message and hint', async () => {
    await fetch(`${core.url}/_p/${TENANT}/${CRASH_LOOP_ID}/arm`, { method: 'POST' }).catch(() => undefined);
    await until(() => core.api('GET', `/api/tenants/${TENANT}/plugins/${CRASH_LOOP_ID}`), {
      ok: (r) => r.body.status === 'failed',
      message: 'the plugin to be failed by its crash loop',
      timeoutMs: 30_000,
    });

    await page.goto(suite.url(`/admin/t/${TENANT}/plugins/${CRASH_LOOP_ID}`));
    const failure = page.locator('[data-plugin-failure]');
    await failure.waitFor();
    expect(await failure.locator('strong').textContent()).toBe('Failed while running');
    expect(await failure.locator('code').textContent()).toBe('CRASH_LOOP');
    expect(await failure.textContent()).toMatch(/The plugin crashed \d+ times/);
    expect(await failure.locator('.hint').textContent()).toMatch(/^Hint: \S/);
    await screenshot(page, 'plugin-failed-while-running');
  });
});
