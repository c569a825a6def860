import { describe, expect, it } from 'vitest';
import { normalizeManifest, type RpcCall } from '@powerx/protocol';
import type { HostServices } from './contract.ts';
import { hostAllowed, serveCall, type CallScope } from './rpc-host.ts';

const seen: unknown[][] = [];
const host = {
  storage: { find: async (...args: unknown[]) => (seen.push(args), []) },
  events: { publish: async (...args: unknown[]) => void seen.push(args), subscribe: () => () => undefined },
  fetch: async (url: string) => ({ status: 200, headers: {}, body: url }),
} as unknown as HostServices;

function scope(
  permissions: string[],
  events = { publish: [] as string[], subscribe: [] as string[] },
): CallScope {
  const manifest = normalizeManifest({
    id: 'com.example.plugin.x',
    name: 'X',
    version: '1.0.0',
    powerx: '*',
    runtime: { kind: 'node', entry: 'a.js' },
    permissions,
    events,
    config: { secrets: [{ name: 'API_KEY' }] },
  });
  return {
    tenant: 'mine',
    pluginId: manifest.id,
    manifest,
    secrets: { API_KEY: 'v', OTHER: 'w' },
    deliver: () => undefined,
    subscriptions: new Map(),
  };
}
const call = (method: string, args: Record<string, unknown>) =>
  ({ t: 'rpc', id: 1, method, args }) as RpcCall;

describe('serving plugin calls', () => {
  it('scopes storage calls to the instance tenant and plugin', async () => {
    await serveCall(call('storage.find', { collection: 'customers' }), scope(['storage']), host);
    expect(seen.at(-1)?.slice(0, 3)).toEqual(['mine', 'com.example.plugin.x', 'customers']);
  });

  it('refuses storage without the storage permission', async () => {
    await expect(
      serveCall(call('storage.find', { collection: 'customers' }), scope([]), host),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('publishes only events listed under events.publish', async () => {
    const s = scope(['events:publish'], { publish: ['a.b'], subscribe: [] });
    await expect(serveCall(call('events.publish', { type: 'a.b', payload: 1 }), s, host)).resolves.toBeNull();
    await expect(
      serveCall(call('events.publish', { type: 'c.d', payload: 1 }), s, host),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(
      serveCall(
        call('events.publish', { type: 'a.b', payload: 1 }),
        scope([], { publish: ['a.b'], subscribe: [] }),
        host,
      ),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('fetches only allowed hosts over http(s)', async () => {
    const s = scope(['http:api.example.com']);
    await expect(
      serveCall(call('http.fetch', { url: 'https://api.example.com/x', init: {} }), s, host),
    ).resolves.toMatchObject({ status: 200 });
    await expect(
      serveCall(call('http.fetch', { url: 'https://api.example.com.evil.net/', init: {} }), s, host),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(
      serveCall(call('http.fetch', { url: 'file:///etc/passwd', init: {} }), s, host),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('gives declared secrets only', async () => {
    await expect(serveCall(call('secrets.get', { name: 'API_KEY' }), scope([]), host)).resolves.toBe('v');
    await expect(serveCall(call('secrets.get', { name: 'OTHER' }), scope([]), host)).rejects.toMatchObject({
      code: 'SECRET_NOT_DECLARED',
    });
  });
});

describe('the http:<host> allow-list', () => {
  it('matches the host on any port, or the port it names', () => {
    expect(hostAllowed(['http:api.example.com'], new URL('https://api.example.com:8443/'))).toBe(true);
    expect(hostAllowed(['http:api.example.com:443'], new URL('https://api.example.com/'))).toBe(true);
    expect(hostAllowed(['http:api.example.com:443'], new URL('http://api.example.com/'))).toBe(false);
    expect(hostAllowed(['storage'], new URL('http://storage/'))).toBe(false);
  });
});
