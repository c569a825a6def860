/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * The live log feed under fan-out, against a real dev-mode core and a real chatty plugin:
 * a client already subscribed keeps receiving every line, one by one identical to the REST
 * route, while many other clients join the same topic mid-stream (each new subscription reads
 * its backfill from the store and must not move the shared read cursor past lines the others
 * have not been sent yet).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import {
  DEV_ID,
  devInstall,
  newSandbox,
  project,
  startDevCore,
  stopTestCore,
  until,
  WsClient,
  type TestCore,
} from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();

let core: TestCore;
const TENANT = 'ws-fanout';
const clients: WsClient[] = [];
const client = () => {
  const c = new WsClient(core, { authorization: `Bearer ${core.adminToken}` });
  clients.push(c);
  return c;
};
const subscribe = (extra: Record<string, unknown> = {}) => ({
  type: 'subscribe',
  channel: 'plugin.dev.logs',
  tenant: TENANT,
  plugin: DEV_ID,
  ...extra,
});

beforeAll(async () => {
  core = await startDevCore();
  await newSandbox(core.api, TENANT);
  const dir = await project(core, 'dev-chatty');
  expect((await devInstall(core.api, { tenant: TENANT, path: dir })).body.result).toBe('running');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await stopTestCore(core);
});

/** Every line after `after`, from the REST route (the reference the feed must match). */
async function restLines(after: number): Promise<any[]> {
  const all: any[] = [];
  for (let cursor = after; ;) {
    const page = (
      await core.api.get(`/api/tenants/${TENANT}/plugins/${DEV_ID}/logs?after=${cursor}&limit=5000`)
    ).body;
    all.push(...page.lines);
    if (page.lines.length < 5000) return all;
    cursor = page.lastId;
  }
}

describe('plugin.dev.logs fan-out', () => {
  it('delivers every line to a connected client while 40 others join mid-stream, identical to REST ?after=', async () => {
    const watcher = client();
    await watcher.opened;
    watcher.send(subscribe({ backfill: 0 }));
    const start = (await watcher.waitFor((f) => f.type === 'subscribed', 'watcher subscribed'))
      .lastId as number;

    // A steady stream of small lines while the others join, one after the other and in pairs.
    let loading = true;
    const load = (async () => {
      while (loading) await fetch(`${core.entryUrl(TENANT, DEV_ID)}spam?n=40&size=64`).then((r) => r.text());
    })();
    const joiners: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const c = client();
      joiners.push(
        c.opened.then(
          () => (
            c.send(subscribe({ backfill: 5 })),
            c.waitFor((f) => f.type === 'subscribed', `joiner ${i}`)
          ),
        ),
      );
      if (i % 2) await Promise.all(joiners.slice(-2));
    }
    await Promise.all(joiners);
    loading = false;
    await load;

    const expected = await restLines(start);
    expect(expected.length).toBeGreaterThan(200);
    const last = expected.at(-1).id;
    await until(() => watcher.lines().at(-1)?.id ?? 0, {
      ok: (id) => id >= last,
      message: `the watcher reaching line ${last}`,
    });
    const got = watcher.lines().filter((l) => l.id > start && l.id <= last);
    expect(got.map((l) => l.id)).toEqual(expected.map((l) => l.id));
    expect(got.map((l) => l.msg)).toEqual(expected.map((l) => l.msg));
  });
});
