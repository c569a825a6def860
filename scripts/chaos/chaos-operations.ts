/**
 * What the chaos harness does to a core (one core, or any node of a cluster: both take the same
 * API calls) and the seeded randomness that picks it: the operations on the hello fixture it
 * interrupts, each started after putting the plugin in the state it needs.
 */
import { readFile } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { join, resolve } from 'node:path';
import { packDirectory } from '@powerx/package-format';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const HELLO = 'com.fixture.core.hello';
export const BASE = 'com.fixture.core.base';
export const TENANT = 'sandbox-dev';
export const ALL_OPERATIONS = ['install', 'upgrade', 'dev-reload', 'rollback', 'uninstall'] as const;
export type Operation = (typeof ALL_OPERATIONS)[number];

/** Where an operation is sent: a core or a cluster node. */
export interface Target {
  url: string;
  token: string;
}

/** mulberry32: small, seedable, good enough to pick moments. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)];
}

export async function until(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

/** The hello, hello-v2 and base fixtures, signed with the test key, as .pxp files in `dir`. */
export async function packChaosFixtures(dir: string): Promise<Record<string, string>> {
  const keys = join(repoRoot, 'packages/package-format/fixtures/keys');
  const privateKeyPem = await readFile(join(keys, 'test.key.pem'), 'utf8');
  const pkgs: Record<string, string> = {};
  for (const name of ['hello', 'hello-v2', 'base'])
    pkgs[name] = (
      await packDirectory(join(repoRoot, 'tests/fixtures/plugins', name), join(dir, `${name}.pxp`), {
        privateKeyPem,
      })
    ).file;
  return pkgs;
}

export async function upload(to: Target, path: string, pxp: string, wait: boolean): Promise<Response> {
  const form = new FormData();
  form.append('tenant', TENANT);
  form.append('package', await openAsBlob(pxp), 'package.pxp');
  return fetch(`${to.url}${path}${wait ? '?wait=true' : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${to.token}` },
    body: form,
  });
}

/** The plugin as the API shows it (undefined when not installed). */
export async function installed(
  to: Target,
  pluginId = HELLO,
): Promise<{ version: string; status: string; lastStableVersion?: string } | undefined> {
  const r = await fetch(`${to.url}/api/tenants/${TENANT}/plugins/${pluginId}`, {
    headers: { authorization: `Bearer ${to.token}` },
  });
  if (r.status !== 200) return undefined;
  return (await r.json()) as { version: string; status: string; lastStableVersion?: string };
}

const installLocal = async (to: Target, pxp: string) =>
  void (await (await upload(to, '/api/plugins/install/local', pxp, true)).text());

export const deletePlugin = (to: Target, pluginId: string) =>
  fetch(`${to.url}/api/tenants/${TENANT}/plugins/${pluginId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${to.token}` },
  });

const uninstall = (to: Target) => deletePlugin(to, HELLO);

/** Starts the operation and returns its promise (it is expected to be cut off by the kill). */
export async function begin(
  to: Target,
  op: Operation,
  pkgs: Record<string, string>,
): Promise<{ done: Promise<Response> }> {
  let plugin = await installed(to);
  const other = () => (plugin?.version === '1.0.0' ? pkgs['hello-v2'] : pkgs.hello);
  switch (op) {
    case 'install':
      if (plugin) await (await uninstall(to)).text();
      return { done: upload(to, '/api/plugins/install/local', pkgs.hello, true) };
    case 'upgrade':
      if (!plugin) await installLocal(to, pkgs.hello);
      return { done: upload(to, '/api/plugins/install/local', plugin ? other() : pkgs['hello-v2'], true) };
    case 'dev-reload':
      if (!plugin) await installLocal(to, pkgs.hello);
      return { done: upload(to, '/api/plugins/dev/install', plugin ? other() : pkgs['hello-v2'], false) };
    case 'rollback':
      // Needs a last stable version other than the active one: upgrade first when there is none.
      if (!plugin) await installLocal(to, pkgs.hello);
      plugin = await installed(to);
      if (!plugin?.lastStableVersion || plugin.lastStableVersion === plugin.version)
        await installLocal(to, other());
      return {
        done: fetch(`${to.url}/api/tenants/${TENANT}/plugins/${HELLO}/rollback?wait=true`, {
          method: 'POST',
          headers: { authorization: `Bearer ${to.token}` },
        }),
      };
    case 'uninstall':
      if (!plugin) await installLocal(to, pkgs.hello);
      return { done: uninstall(to) };
  }
}
