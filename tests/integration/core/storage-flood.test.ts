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
import { describe, expect, it } from 'vitest';
import { useCoreWithPlugin } from '../../support/core-kit.ts';

const HELLO_ID = 'com.fixture.core.hello';
const FLOOD = 200;

const suite = useCoreWithPlugin('hello-storage-flood');

const plugin = (path: string, method = 'GET') =>
  fetch(`${suite.core.entryUrl('sandbox-dev', HELLO_ID)}${path}`, { method }).then(async (r) => {
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as { sent?: number; done: number };
  });

describe('a plugin queueing storage queries on the database of core', () => {
  it('does not make an API request made meanwhile wait behind all of them', async () => {
    await plugin('fill?docs=24', 'POST');
    const started = await plugin(`flood?n=${FLOOD}`, 'POST');
    expect(started.sent).toBe(FLOOD);
    expect((await suite.core.api.get('/api/me')).status).toBe(200);
    const { done } = await plugin('flood');
    // Before: all of them (core ran them back to back and answered nothing meanwhile, 4.7 s here).
    expect(done).toBeLessThan(FLOOD / 2);
  }, 120_000);
});
