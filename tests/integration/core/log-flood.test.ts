/**
 * A plugin's log lines are stored in core's database, on the disk every tenant shares; a
 * per-instance budget (lines per second, with a burst) keeps a chatty plugin from filling it.
 * The hostile fixture hello-log-flood goes around that budget three ways: lines core writes on
 * its behalf (a `fatal` message on the IPC channel, a refused RPC call) were not counted at all,
 * and the budget counted lines, not bytes, while a ctx.log line could carry 1 MiB of fields.
 * Before: each flood below stored every line it sent (about 120 MB for the three). Now the
 * plugin-caused lines take from the same budget, and fields are cut to the size of a line.
 */
import { describe, expect, it } from 'vitest';
import { useCoreWithPlugin } from '../../support/core-kit.ts';

const HELLO_ID = 'com.fixture.core.hello';
/** A small budget, so that what refills while a flood runs stays small beside the flood. */
const RATE = { perSecond: 5, burst: 50 };

const suite = useCoreWithPlugin('hello-log-flood', { core: { supervisor: { logRate: RATE } } });

async function flood(kind: string, n: number): Promise<void> {
  const r = await fetch(`${suite.core.entryUrl('sandbox-dev', HELLO_ID)}${kind}?n=${n}`, { method: 'POST' });
  if (r.status !== 200) {
    const plugin = await suite.core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`);
    expect.fail(`${kind}: ${r.status} ${await r.text()}; plugin ${JSON.stringify(plugin.body.failure)}`);
  }
  expect(await r.json()).toEqual({ sent: n });
}

/** Lines and bytes the plugin has in the log store (flushed first through the logs API). */
async function stored(): Promise<{ lines: number; bytes: number }> {
  await suite.core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs?limit=1`);
  const [row] = await suite.core.sql(
    `select count(*) as lines, coalesce(sum(length(msg) + coalesce(length(fields), 0)), 0) as bytes
       from plugin_logs where tenant = ? and plugin = ?`,
    ['sandbox-dev', HELLO_ID],
  );
  return { lines: Number(row.lines), bytes: Number(row.bytes) };
}

describe('a plugin flooding the log store through core', () => {
  it('the fields of a ctx.log line are cut to the size of a line', async () => {
    const before = await stored();
    await flood('fields', 40);
    const after = await stored();
    // 40 lines of 512 KiB each were 20 MiB; a line may now carry 8 KiB of message and 8 KiB of fields.
    expect(after.lines - before.lines).toBeGreaterThan(0);
    expect(after.bytes - before.bytes).toBeLessThan(40 * 17 * 1024);
    const [line] = await suite.core.sql(
      `select fields from plugin_logs where tenant = ? and plugin = ? and msg like 'fields %' limit 1`,
      ['sandbox-dev', HELLO_ID],
    );
    expect(JSON.parse(String(line.fields))).toMatchObject({ truncated: true });
  });

  it('fatal messages on the IPC channel take from its log budget', async () => {
    const before = await stored();
    await flood('fatal', 3000);
    const after = await stored();
    expect(after.lines - before.lines).toBeLessThan(1000);
  });

  it('RPC calls it has no permission for take from its log budget', async () => {
    const before = await stored();
    await flood('denied', 3000);
    const after = await stored();
    expect(after.lines - before.lines).toBeLessThan(1000);
  });
});
