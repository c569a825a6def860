/**
 * Every tenant's plugins are served from one host, under `/_p/<tenant>/<plugin>/`, and a browser
 * keeps cookies per host, sending each to every path under its `Path`. The hostile fixture
 * hello-cookie-toss sets cookies for the whole host, for another tenant's plugin, for a parent
 * domain and a `__Host-` one. Before, the entry point passed them on as they were: in a browser
 * this plugin planted cookies into other tenants' plugins (a session fixed for them) and was sent
 * the cookies they set for `/`. Now each cookie is kept to the plugin's own entry path, host-only,
 * and a `__Host-` cookie (which must cover the whole host) is dropped.
 */
import { describe, expect, it } from 'vitest';
import { useCoreWithPlugin } from '../../support/core-kit.ts';

const HELLO_ID = 'com.fixture.core.hello';

const suite = useCoreWithPlugin('hello-cookie-toss');

describe('cookies a plugin sets through the entry point', () => {
  it('are kept to its own entry path, host-only; __Host- cookies are dropped', async () => {
    const r = await fetch(`${suite.core.entryUrl('sandbox-dev', HELLO_ID)}toss`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ tossed: 4 });
    const own = `/_p/sandbox-dev/${HELLO_ID}/`;
    expect(r.headers.getSetCookie()).toEqual([
      `sid=planted-by-a; HttpOnly; Path=${own}`,
      `victim=planted; SameSite=Lax; Path=${own}`,
      `wide=1; Path=${own}`,
    ]);
  });
});
