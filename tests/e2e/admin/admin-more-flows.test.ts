/**
 * More of the Admin in a real browser (Debian's Chromium via playwright-core) against a real
 * dev-mode core: a stale tenant URL, a real drag-and-drop of a `.pxp` onto the drop zone,
 * dev reloads told apart in the version history, log fields under the message, the reload
 * marker driven by the WebSocket `reload` frame, uninstall with its confirmation, dev actions
 * hidden for a user without plugin:dev, audit filters (tenant, actor, time range) with paging
 * that skips nothing, and the chain-broken state after a row is tampered with in SQLite.
 * The tests run in order and share one core and one browser; no console error on any page.
 * Screenshots go to test-artifacts/admin/ (prefix `more-`).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendFile, cp, readFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  HELLO_ID,
  TENANT,
  fixturePluginDir,
  navLink,
  newAdminPage,
  packFixture,
  screenshot,
  signIn,
  useAdminSuite,
  type ConsoleWatch,
  type E2eCore,
} from './admin-test-kit.ts';

// Path installs read the developer's folder under the temp folder: a dev root only when listed
// (the dev policy has none by default).
process.env.PX_DEV_ROOTS = tmpdir();

const suite = useAdminSuite({ tmpPrefix: 'px-admin-more-', core: { devMode: true }, signedIn: false });
const url = suite.url;
let core: E2eCore;
let browser: Browser;
let page: Page;
let tmp: string;
const others: { context: BrowserContext; console: ConsoleWatch }[] = [];
let hello: string;

const DEV_PLUGIN = 'com.fixture.core.hello';
const VIEWER = 'viewer';
const VIEWER_PASSWORD = 'viewer-password-e2e';

/** A `<input type=datetime-local>` value in this machine's time zone (the browser's too). */
function localMinute(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

beforeAll(async () => {
  ({ core, browser, page, tmp } = suite);
  hello = await packFixture('hello-admin', tmp);
}, 60_000);

afterEach(() => {
  for (const o of others) expect(o.console.take()).toEqual([]);
});

afterAll(async () => {
  for (const o of others) await o.context.close().catch(() => {});
});

describe('the web Admin, more flows', { timeout: 60_000 }, () => {
  it('a stale tenant URL shows one clear "tenant not found" state with a way back, and no failed calls', async () => {
    await signIn(page, core.url);
    await page.goto(url('/admin/t/nope/plugins'));
    const state = page.locator('[data-state="tenant-not-found"]');
    await state.waitFor();
    expect(await state.textContent()).toContain('Tenant “nope” not found');
    expect(await page.locator('.state-error').count()).toBe(1);
    // The switcher does not pretend to be on another tenant.
    expect(await page.getByLabel('Tenant', { exact: true }).inputValue()).toBe('');
    await screenshot(page, 'more-01-tenant-not-found');
    await state.getByRole('link').click();
    await page.waitForURL(url(`/admin/t/${TENANT}/plugins`));
    await page.getByRole('heading', { name: 'Plugins' }).waitFor();
  });

  it('installs a .pxp dropped onto the drop zone (a real drop event with a DataTransfer)', async () => {
    await navLink(page, 'Install').click();
    const bytes = (await readFile(hello)).toString('base64');
    await page.locator('[data-dropzone]').evaluate((zone, b64) => {
      // Runs in the page (the browser's DOM types; this project compiles without the DOM lib).
      const dom = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: File): void } };
        DragEvent: new (type: string, init: object) => Event;
      };
      const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new dom.DataTransfer();
      transfer.items.add(new File([raw], 'hello-admin.pxp', { type: 'application/gzip' }));
      for (const type of ['dragenter', 'dragover', 'drop'])
        zone.dispatchEvent(
          new dom.DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }),
        );
    }, bytes);
    await page.getByRole('heading', { name: /Validation report/ }).waitFor();
    await page.getByText('all checks passed').waitFor();
    await page.getByLabel(/^API_KEY/).fill('dropped-secret');
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.locator('[data-install-state="running"]').waitFor({ timeout: 45_000 });
    await screenshot(page, 'more-02-installed-by-drop');
    expect((await core.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).body.status).toBe('running');
  });

  it('tells dev reloads apart in the version history, shows log fields under the message, and marks a reload from the WebSocket frame', async () => {
    const project = join(tmp, 'dev-hello');
    await cp(fixturePluginDir('hello'), project, { recursive: true });
    expect(
      (await core.api('POST', '/api/plugins/dev/install', { tenant: TENANT, path: project })).body.result,
    ).toBe('running');
    // Same version, new content: what a save during `px-plugin dev --watch` makes.
    await appendFile(join(project, 'dist/server.js'), '\n// a save\n');
    expect(
      (await core.api('POST', '/api/plugins/dev/install', { tenant: TENANT, path: project })).body.result,
    ).toBe('running');

    await page.goto(url(`/admin/t/${TENANT}/plugins/${DEV_PLUGIN}`));
    await page.getByRole('heading', { name: 'Version history' }).waitFor();
    const hashes = await page.locator('[data-content-hash]').allTextContents();
    expect(hashes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(hashes.slice(0, 2)).size).toBe(2);
    expect(await page.locator('[data-flow="dev"]').count()).toBeGreaterThanOrEqual(2);

    // A line with long fields (the dev reload line carries its timings): the message keeps its width.
    const withFields = page.locator('[data-log-line]', { has: page.locator('.log-fields') }).last();
    await withFields.waitFor({ timeout: 20_000 });
    // Both boxes from one line in one frame: measured one call apart, a line arriving in between
    // scrolls the panel (or becomes the last line) and the two boxes no longer belong together.
    const { msg, fields } = await withFields.evaluate((line) => {
      const box = (selector: string) => {
        const r = line.querySelector(selector)!.getBoundingClientRect();
        return { y: r.y, height: r.height, width: r.width };
      };
      return { msg: box('.log-msg'), fields: box('.log-fields') };
    });
    expect(msg.width).toBeGreaterThan(400);
    expect(fields.y).toBeGreaterThanOrEqual(msg.y + msg.height - 1);
    await screenshot(page, 'more-03-dev-history-and-log-fields');

    // The next reload, made outside the page, shows up as a marker in the open log panel.
    const markers = await page.locator('[data-reload]').count();
    await appendFile(join(project, 'dist/server.js'), '\n// another save\n');
    expect(
      (await core.api('POST', '/api/plugins/dev/install', { tenant: TENANT, path: project })).body.result,
    ).toBe('running');
    await page.locator('[data-reload]').nth(markers).waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-reload]').nth(markers).textContent()).toMatch(/1\.0\.0/);
  });

  it('hides dev actions from a member without plugin:dev', async () => {
    expect(
      (
        await core.api('POST', '/api/users', {
          username: VIEWER,
          password: VIEWER_PASSWORD,
          permissions: [],
        })
      ).status,
    ).toBe(201);
    expect(
      (await core.api('POST', `/api/tenants/${TENANT}/members`, { username: VIEWER })).status,
    ).toBeLessThan(300);
    const viewer = await newAdminPage(browser);
    others.push(viewer);
    await signIn(viewer.page, core.url, VIEWER, VIEWER_PASSWORD);
    expect(viewer.page.url()).toBe(url(`/admin/t/${TENANT}/plugins`));
    expect(await navLink(viewer.page, 'Install').count()).toBe(0);
    expect(await navLink(viewer.page, 'Dev sessions').count()).toBe(0);
    await viewer.page.goto(url(`/admin/t/${TENANT}/plugins/${HELLO_ID}`));
    await viewer.page.getByRole('heading', { name: 'Hello Admin' }).waitFor();
    for (const name of ['Uninstall', 'Restart', /Roll back/, 'Edit configuration'])
      expect(await viewer.page.getByRole('button', { name }).count()).toBe(0);
    await screenshot(viewer.page, 'more-04-viewer-no-dev-actions');
    // Off the plugin's page: left there, its poll every 5 s reads a 404 (a console error the
    // browser writes itself) once a later test uninstalls the plugin.
    await viewer.page.goto(url(`/admin/t/${TENANT}/plugins`));
    await viewer.page.getByRole('heading', { name: 'Plugins' }).waitFor();
  });

  it('audit: filters by tenant, actor and time range, and pages through every entry without skipping', async () => {
    const started = new Date();
    // 120 entries by the viewer in the tenant (each first read of a log is audited), some by admin.
    const token = (
      (await (
        await fetch(url('/api/auth/login'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: VIEWER, password: VIEWER_PASSWORD }),
        })
      ).json()) as { token: string }
    ).token;
    for (let i = 0; i < 120; i++) {
      const r = await fetch(url(`/api/tenants/${TENANT}/plugins/${HELLO_ID}/logs?limit=1`), {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status).toBe(200);
    }
    for (let i = 0; i < 5; i++)
      await core.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}/logs?limit=1`);
    const expected = (
      await core.api('GET', `/api/audit?tenant=${TENANT}&actor=${VIEWER}&limit=1000`)
    ).body.entries.map((e: { seq: number }) => e.seq);
    expect(expected.length).toBeGreaterThanOrEqual(120);

    await page.goto(url('/admin/audit'));
    await page.locator('[data-audit-action]').first().waitFor();
    const filters = page.getByRole('form', { name: 'Filters' });
    await filters.locator('select').selectOption(TENANT);
    await filters.getByLabel('Actor', { exact: true }).fill(VIEWER);
    await filters.getByLabel('From', { exact: true }).fill(localMinute(new Date(started.getTime() - 60_000)));
    await filters.getByLabel('To', { exact: true }).fill(localMinute(new Date(Date.now() + 120_000)));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page
      .locator('[data-audit-action]:not([data-audit-action="plugin.logs.read"])')
      .first()
      .waitFor({ state: 'detached' });

    const seen: number[] = [];
    for (let n = 1; ; n++) {
      // The rows of page n, not those of the page before still on screen while it loads.
      const table = page.locator(`table.audit[data-page="${n}"][data-filtered="true"][aria-busy="false"]`);
      await table.waitFor();
      const rows = table.locator('tbody tr[data-audit-action]');
      await rows.first().waitFor();
      // Every row matches the filters.
      const cells = await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      );
      for (const c of cells) expect([c[2], c[3]]).toEqual([VIEWER, TENANT]);
      const first = Number(cells[0][0]);
      if (seen.length) expect(first).toBeLessThan(seen.at(-1)!);
      seen.push(...cells.map((c) => Number(c[0])));
      if (n === 1) await screenshot(page, 'more-05-audit-filtered');
      const older = page.getByRole('button', { name: 'Older →' });
      if (!(await older.isEnabled())) break;
      await older.click();
    }
    expect(seen).toEqual(expected);

    // A time range that ends before the viewer existed matches nothing.
    await filters.getByLabel('From', { exact: true }).fill('');
    await filters.getByLabel('To', { exact: true }).fill(localMinute(new Date(started.getTime() - 120_000)));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No audit entry matches.').waitFor();
  });

  it('names the first bad entry when a row was tampered with in the SQLite file', async () => {
    await page.goto(url('/admin/audit'));
    await page.locator('[data-chain="ok"]').waitFor();
    const db = new DatabaseSync(join(core.dataDir, 'core.db'));
    try {
      const row = db
        .prepare("SELECT seq FROM audit_log WHERE action = 'plugin.logs.read' ORDER BY seq LIMIT 1 OFFSET 3")
        .get() as { seq: number };
      db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = ?").run(row.seq);
      await page.reload();
      const broken = page.locator('[data-chain="broken"]');
      await broken.waitFor();
      expect(await broken.textContent()).toContain(`First bad entry #${row.seq}`);
      await screenshot(page, 'more-06-audit-chain-broken');
    } finally {
      db.close();
    }
  });

  it('uninstalls a plugin only after the confirmation', async () => {
    await page.goto(url(`/admin/t/${TENANT}/plugins/${HELLO_ID}`));
    await page.getByRole('heading', { name: 'Hello Admin' }).waitFor();
    await page.getByRole('button', { name: 'Uninstall' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Uninstall Hello Admin?');
    await screenshot(page, 'more-07-uninstall-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await core.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Uninstall' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Uninstall' }).click();
    await page.waitForURL(url(`/admin/t/${TENANT}/plugins`));
    expect((await core.api('GET', `/api/tenants/${TENANT}/plugins/${HELLO_ID}`)).status).toBe(404);
  });
});
