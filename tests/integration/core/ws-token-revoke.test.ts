/**
 * A token is checked once, when a /api/ws socket authenticates. Before, revoking it (the answer
 * to a leaked token: `DELETE /api/me/tokens/:id`) stopped every REST call at once, while a socket
 * opened with it kept streaming the tenant's install progress and plugin logs for as long as it
 * stayed open — here, the progress of an install made after the revocation. Now the revocation
 * closes such sockets (4001) on every node (bus event `auth.token.revoked`), and each heartbeat
 * checks the token again, for a token revoked where no event was sent (another node, the store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import {
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type Api,
  type TestCore,
} from '../../support/core-kit.ts';
import { until } from '../../support/until.ts';
import { WsClient } from '../dev/dev-kit.ts';

process.env.PX_WS_HEARTBEAT_MS = '200';

const TENANT = 'sandbox-dev';

let core: TestCore;
let tmp: string;
let pkgs: Record<string, string>;
let mallory: Api;
const sockets: WsClient[] = [];

beforeAll(async () => {
  tmp = await makeTmp();
  pkgs = await packFixtures(tmp);
  core = await startTestCore();
  mallory = await core.api.user('mallory', ['plugin:dev'], [TENANT]);
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await stopTestCore(core);
  await rm(tmp, { recursive: true, force: true });
});

/** A second token of mallory's (the one that leaks), and a socket following the tenant's installs with it. */
async function followWithNewToken(): Promise<{ ws: WsClient; token: string; tokenId: string }> {
  const created = await mallory.post('/api/me/tokens', { name: 'laptop' });
  expect(created.status).toBe(201);
  const { token, tokenId } = created.body;
  const ws = new WsClient(core, { authorization: `Bearer ${token}` });
  sockets.push(ws);
  await ws.opened;
  ws.send({ type: 'subscribe', channel: 'plugin.install.progress', tenant: TENANT });
  await ws.waitFor((f) => f.type === 'progress_snapshot', 'the progress snapshot');
  return { ws, token, tokenId };
}

describe('a revoked token on an open /api/ws socket', () => {
  it('revoking it closes the socket (4001) before anything else reaches it', async () => {
    const { ws, token, tokenId } = await followWithNewToken();
    expect((await mallory.delete(`/api/me/tokens/${tokenId}`)).status).toBe(204);
    expect((await core.api.as(token).get('/api/me')).status).toBe(401);
    await until(() => ws.closeCode, {
      message: 'the socket of the revoked token to close',
      timeoutMs: 10_000,
    });
    expect(ws.closeCode).toBe(4001);
    expect(ws.frames.at(-1)).toMatchObject({ type: 'error', code: 'AUTH_INVALID' });

    const seen = ws.frames.length;
    const installed = await core.api.install(pkgs.hello, { config: { env: { GREETING: 'after revoke' } } });
    expect(installed.body.state, JSON.stringify(installed.body)).toBe('running');
    expect(ws.frames.slice(seen).filter((f) => f.type === 'progress')).toEqual([]);
  });

  it('a token revoked without the event (in the store) is caught by the next heartbeat', async () => {
    const { ws, tokenId } = await followWithNewToken();
    await core.sql('update api_tokens set revoked_at = ? where id = ?', [new Date().toISOString(), tokenId]);
    await until(() => ws.closeCode, { message: 'the heartbeat to close the socket', timeoutMs: 10_000 });
    expect(ws.closeCode).toBe(4001);
  });
});
