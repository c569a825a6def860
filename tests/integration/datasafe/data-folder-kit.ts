/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * Shared by the data folder tests (move, copy, backup/restore): a set of running plugins, and the
 * checks that a core on some data folder serves every one of them from that folder's own files.
 */
import { readFile, readdir } from 'node:fs/promises';
import { expect } from 'vitest';
import { HELLO_ID, type TestCore } from '../../support/core-kit.ts';

export const BASE_ID = 'com.fixture.core.base';
export const NEEDS_BASE_ID = 'com.fixture.core.needs-base';

/** hello 1.0.0 then 2.0.0 (so a last stable version exists), base, and needs-base on top of base. */
export async function installSeveral(core: TestCore, pkgs: Record<string, string>): Promise<void> {
  for (const name of ['hello', 'hello-v2', 'base', 'needs-base']) {
    const config = name.startsWith('hello') ? { secrets: { API_KEY: 'kept-across-moves' } } : undefined;
    const r = await core.api.install(pkgs[name], config ? { config } : {});
    expect(r.body.state, `${name}: ${JSON.stringify(r.body)}`).toBe('running');
  }
}

export const EXPECTED = [
  { pluginId: BASE_ID, version: '1.0.0' },
  { pluginId: HELLO_ID, version: '2.0.0' },
  { pluginId: NEEDS_BASE_ID, version: '1.0.0' },
];

/** Every plugin running, every entry point answering with the expected version. */
export async function expectAllServing(core: TestCore): Promise<void> {
  const list = (await core.api.get('/api/tenants/sandbox-dev/plugins')).body;
  const plugins = (Array.isArray(list) ? list : list.plugins) as Array<any>;
  expect(
    plugins
      .map((p) => ({ pluginId: p.pluginId, version: p.version, status: p.status }))
      .sort((a, b) => a.pluginId.localeCompare(b.pluginId)),
  ).toEqual(EXPECTED.map((e) => ({ ...e, status: 'running' })));
  for (const { pluginId, version } of EXPECTED) {
    const r = await fetch(core.entryUrl('sandbox-dev', pluginId));
    expect(r.status, `${pluginId} entry point`).toBe(200);
    const body = (await r.json()) as { version?: string };
    if (body.version) expect(body.version).toBe(version);
  }
}

/** The version folders the plugin processes under `root` were given (their command lines name them). */
export async function pluginFolders(root: string): Promise<string[]> {
  const found = new Set<string>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(root)) continue;
    // e.g. --allow-fs-read=<data dir>/tenants/…/versions/<id> (and bwrap's --ro-bind <dir> …)
    for (const m of cmdline.matchAll(/(\/[^\0=]*\/versions\/[^/\0]+)/g)) found.add(m[1]);
  }
  return [...found];
}
