/**
 * Core keeps every plugin's ctx.storage in its own database, which has one connection (SQLite) or
 * a small pool (PostgreSQL), handed out in turn. The hostile fixture hello-storage-flood starts
 * 200 counts at once, each a scan of its 24 MB of documents. Before, all 200 queued for the
 * connection, and since SQLite runs on core's event loop they ran back to back: core answered
 * nothing at all (not even the plugin's own entry point) until the last one was done, and an API
 * request made then (here GET /api/me, whose token check is one query) came back after every one
 * of them. Now an instance has at most two storage calls in the database at a time, the next one
 * starting in a later turn of the event loop: core's other work runs in between.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTmp, packFixtures, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

const HELLO_ID = 'com.fixture.core.hello';
const FLOOD = 200;

let core: TestCore;
let tmp: string;

beforeAll(async () => {
  tmp = await makeTmp();
  const pkgs = await packFixtures(join(tmp, 'pkgs'));
  core = await startTestCore();
  const r = await core.api.install(pkgs['hello-storage-flood']);
  expect(r.body.state, JSON.stringify(r.body)).toBe('running');
}, 60_000);

afterAll(async () => {
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

const plugin = (path: string, method = 'GET') =>
  fetch(`${core.entryUrl('sandbox-dev', HELLO_ID)}${path}`, { method }).then(async (r) => {
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as { sent?: number; done: number };
  });

describe('a plugin queueing storage queries on the database of core', () => {
  it('does not make an API request made meanwhile wait behind all of them', async () => {
    await plugin('fill?docs=24', 'POST');
    const started = await plugin(`flood?n=${FLOOD}`, 'POST');
    expect(started.sent).toBe(FLOOD);
    expect((await core.api.get('/api/me')).status).toBe(200);
    const { done } = await plugin('flood');
    // Before: all of them (core ran them back to back and answered nothing meanwhile, 4.7 s here).
    expect(done).toBeLessThan(FLOOD / 2);
  }, 120_000);
});
