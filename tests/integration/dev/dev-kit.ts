/**
 * Shared set-up of the dev-mode tests: real cores in dev mode (tests/support/core-kit.ts), fixture builds
 * copied into temp "projects" (what px-plugin dev hands to core), bus event capture, a
 * WebSocket client (tests/support/ws-client.ts), and a count of the plugin processes a core really runs.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusEvent } from '@powerx/core';
import { makeTmp, startTestCore, type Api, type TestCore } from '../../support/core-kit.ts';
import type { StartCoreOptions } from '@powerx/core';
import { until } from '../../support/until.ts';

export { until };

export { stopTestCore, type TestCore } from '../../support/core-kit.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const DEV_ID = 'com.fixture.dev.hello';

export function startDevCore(opts: StartCoreOptions & { tmp?: string } = {}): Promise<TestCore> {
  return startTestCore({ devMode: true, processMetrics: false, ...opts });
}

/**
 * A health bound for a fixture whose gate must itself time out (dev-never-healthy): the bound
 * covers the start too, and on a loaded machine the fixture's 800 ms can run out before the gate
 * begins (HEALTH_TIMEOUT at `starting`, not `health_check`).
 */
export const GATE_TIMEOUT_MS = 5_000;

let projects = 0;
/**
 * A copy of a fixture build in the core's temp folder (inside the allowed roots); `healthTimeoutMs`
 * replaces the manifest's health bound.
 */
export async function project(
  core: { tmp: string },
  fixture: string,
  healthTimeoutMs?: number,
): Promise<string> {
  const dir = join(core.tmp, 'projects', `${fixture}-${++projects}`);
  await cp(join(FIXTURES, fixture), dir, { recursive: true, verbatimSymlinks: true });
  if (healthTimeoutMs) {
    const manifest = join(dir, 'manifest.json');
    const text = await readFile(manifest, 'utf8');
    if (!/"timeoutMs": \d+/.test(text)) throw new Error(`${fixture} sets no health timeoutMs`);
    await writeFile(manifest, text.replace(/"timeoutMs": \d+/, `"timeoutMs": ${healthTimeoutMs}`));
  }
  return dir;
}

/** What a rebuild does: new dist/server.js content. */
export async function setMessage(dir: string, message: string): Promise<void> {
  const file = join(dir, 'dist/server.js');
  const src = await readFile(file, 'utf8');
  await writeFile(file, src.replace(/const MESSAGE = '.*';/, `const MESSAGE = '${message}';`));
}

export async function newSandbox(api: Api, id: string): Promise<string> {
  const r = await api.post('/api/tenants', { id, kind: 'sandbox', allowUnsigned: false });
  if (r.status !== 201 && r.status !== 200)
    throw new Error(`tenant ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return id;
}

export function devInstall(api: Api, body: Record<string, unknown>) {
  return api.post('/api/plugins/dev/install', body);
}

export async function hello(
  core: TestCore,
  tenant: string,
  plugin = DEV_ID,
): Promise<{ status: number; text: string }> {
  const r = await fetch(`${core.entryUrl(tenant, plugin)}hello`);
  return { status: r.status, text: await r.text() };
}

export function captureEvents(core: TestCore, pattern = 'plugin.dev.*'): BusEvent[] {
  const seen: BusEvent[] = [];
  core.bus.subscribe(pattern, (e) => seen.push(e));
  return seen;
}

/** Plugin processes of this core right now (any process whose command line names its data dir). */
export async function pluginProcesses(core: TestCore): Promise<number> {
  let n = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // Plugin processes only, not their IPC brokers (packages/runtime/README.md, "IPC broker") nor
      // their PID-namespace wrappers (unshare and sh, both named px-pidns on their command line).
      // A sandboxed plugin shows as its bubblewrap and bwrap's init (a fork, same command line): once.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      const sameAsParent = readFileSync(`/proc/${parent}/cmdline`, 'utf8') === cmdline;
      if (
        cmdline.includes(core.dataDir) &&
        !/broker-[0-9a-f]+\.cjs/.test(cmdline) &&
        !cmdline.includes('px-pidns') &&
        !sameAsParent
      )
        n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

export { WsClient } from '../../support/ws-client.ts';

export { makeTmp };
