/**
 * Starts one plugin with a real Supervisor on a host where bubblewrap cannot run, and prints the
 * outcome as one JSON line. Run by isolation-unavailable.test.ts inside a private mount namespace
 * that hides /usr/bin/bwrap; argv: <runDir> <versionDir> <dataDir> <allowWeakIsolation 0|1>.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeManifest, type ManifestSource } from '@powerx/protocol';
import { Supervisor, probeHostIsolation } from '@powerx/runtime';

const [runDir, versionDir, dataDir, weak] = process.argv.slice(2);
const manifest = normalizeManifest(
  JSON.parse(readFileSync(join(versionDir, 'manifest.json'), 'utf8')) as ManifestSource,
);
const supervisor = new Supervisor({
  runDir,
  logSink: { write: () => undefined },
  host: {} as never,
  sandbox: { allowWeakIsolation: weak === '1' },
  prewarmBroker: false,
});
try {
  const info = await supervisor.start({
    tenant: 't',
    pluginId: manifest.id,
    version: manifest.version,
    versionDir,
    dataDir,
    manifest,
    config: {},
    secrets: {},
    logLevel: 'info',
  });
  console.log(
    JSON.stringify({ started: true, isolation: info.isolation, bwrap: probeHostIsolation().bwrap ?? null }),
  );
} catch (error) {
  const e = error as { code?: string; message?: string; hint?: string };
  console.log(JSON.stringify({ started: false, code: e.code, message: e.message, hint: e.hint }));
} finally {
  await supervisor.stopAll({ graceMs: 500 });
}
