/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and frames of the API under test are checked by assertions, not types */
/**
 * A hostile plugin prints the secret the operator gave it in its logs, every way a plugin can log
 * (fixture hello-secret-logger): stdout, stderr, a JSON line (message, field value, field name),
 * ctx.log with nested fields, a line written in two pieces; at start and on a request. The logs
 * API and the live log stream are read by whoever has the log permission, which is not the
 * secret's: every line arrives with the value masked, and the line itself is kept.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useCoreWithPlugin } from '../../support/core-kit.ts';
import { until } from '../../support/until.ts';
import { WsClient } from '../../support/ws-client.ts';

const SECRET = 'px-log-canary-51d0e8b4';
const HELLO_ID = 'com.fixture.core.hello';
const LOGS = `/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs?limit=1000`;

const suite = useCoreWithPlugin('hello-secret-logger', { config: { secrets: { API_KEY: SECRET } } });
let ws: WsClient | undefined;

afterAll(() => ws?.close());

const said = (lines: any[], when: string) =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(`${when}: `));

describe('a plugin that prints its secret in its logs', () => {
  it('shows every line of its start in the logs API with the secret masked', async () => {
    const lines = await until(async () => (await suite.core.api.get(LOGS)).body.lines as any[], {
      ok: (l) => said(l, 'start').some((x) => x.msg.includes('split')),
      message: 'the start lines of hello-secret-logger in the logs API',
    });
    expect(said(lines, 'start').map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'start: stdout says the key is [secret]',
        'start: stderr says the key is [secret]',
        'start: json [secret]',
        'start: ctx.log [secret]',
        'start: split [secret] done',
      ]),
    );
    expect(said(lines, 'start').find((l) => l.msg === 'start: json [secret]').fields).toEqual({
      auth: '[secret]',
      '[secret]': 'as a name',
    });
    expect(said(lines, 'start').find((l) => l.msg === 'start: ctx.log [secret]').fields).toEqual({
      nested: [{ header: 'Bearer [secret]' }],
    });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('streams the lines of a request live over /api/ws with the secret masked', async () => {
    ws = new WsClient(suite.core, { authorization: `Bearer ${suite.core.adminToken}` });
    await ws.opened;
    ws.send({ type: 'subscribe', channel: 'plugin.dev.logs', tenant: 'sandbox-dev', plugin: HELLO_ID });
    await ws.waitFor((f) => f.type === 'subscribed', 'the subscription');
    const r = await fetch(`${suite.core.url}/_p/sandbox-dev/${HELLO_ID}/leak`);
    expect(r.status).toBe(200);
    await until(async () => said(ws!.lines(), 'route'), {
      ok: (l) => l.some((x) => x.msg.includes('split')) && l.length >= 5,
      message: 'the request lines of hello-secret-logger on the live stream',
    });
    expect(said(ws.lines(), 'route').map((l) => l.msg)).toEqual(
      expect.arrayContaining(['route: stdout says the key is [secret]', 'route: split [secret] done']),
    );
    expect(JSON.stringify(ws.frames)).not.toContain(SECRET);
    expect(JSON.stringify((await suite.core.api.get(LOGS)).body)).not.toContain(SECRET);
  });
});
