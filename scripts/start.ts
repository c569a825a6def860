/**
 * `npm start`: the quick start. Runs core on its embedded default (SQLite and local disk under
 * PX_DATA_DIR, default ./.px-data), makes sure the hello example is installed in the sandbox
 * tenant through the real upload flow (build → sign with a developer key registered for the admin
 * → upload → wizard → running), and prints the URLs. Dev mode is on (PX_PLUGIN_DEV_MODE=0 turns it
 * off). Ctrl-C stops core and its plugins.
 */
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCore, type RunningCore } from '@powerx/core';
import { generateKeyPair } from '@powerx/package-format';
import { buildProject } from '@powerx/cli';
import { isPxError, type Install, type InstalledPlugin } from '@powerx/protocol';
import { ensureAdminBuilt } from '../packages/admin/scripts/ensure-built.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SANDBOX = 'sandbox-dev';
const helloDir = join(repoRoot, 'examples', 'hello');

async function api<T>(core: RunningCore, path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${core.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${core.adminToken}`, ...init.headers },
  });
  const body = (await response.json().catch(() => ({}))) as T & {
    code?: string;
    message?: string;
    hint?: string;
  };
  if (!response.ok)
    throw new Error(
      `${init.method ?? 'GET'} ${path}: ${response.status} ${body.code ?? ''} ${body.message ?? ''}${body.hint ? `\n  hint: ${body.hint}` : ''}`,
    );
  return body;
}

/** The developer key of this data dir: made once, registered for the admin user, used to sign hello. */
async function ensureDeveloperKey(core: RunningCore): Promise<string> {
  const keyDir = join(core.dataDir, 'quickstart-key');
  const keyPath = join(keyDir, 'dev.key.pem');
  const pubPath = join(keyDir, 'dev.pub.pem');
  const exists = await access(keyPath).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const pair = generateKeyPair();
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    await writeFile(keyPath, pair.privateKeyPem, { mode: 0o600 });
    await writeFile(pubPath, pair.publicKeyPem, { mode: 0o644 });
  }
  const publicKeyPem = await readFile(pubPath, 'utf8');
  const { keys } = await api<{ keys: Array<{ publicKeyPem: string }> }>(core, '/api/me/keys');
  if (!keys.some((k) => k.publicKeyPem.trim() === publicKeyPem.trim())) {
    await api(core, '/api/me/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ publicKeyPem, name: 'quick start' }),
    });
  }
  return keyPath;
}

async function ensureHelloInstalled(core: RunningCore): Promise<string> {
  const keyPath = await ensureDeveloperKey(core);
  const outDir = join(core.dataDir, 'quickstart-build');
  await mkdir(outDir, { recursive: true });
  const build = await buildProject(helloDir, { key: keyPath, out: outDir, writeDist: false });
  const { plugins } = await api<{ plugins: InstalledPlugin[] }>(core, `/api/tenants/${SANDBOX}/plugins`);
  const current = plugins.find((p) => p.pluginId === build.manifest.id);
  if (current && current.version === build.manifest.version && current.status === 'running')
    return `${build.manifest.id} ${current.version} already running`;

  const form = new FormData();
  form.set('tenant', SANDBOX);
  form.set(
    'config',
    JSON.stringify({
      env: { GREETING: 'Hello' },
      secrets: { API_KEY: 'quickstart-not-a-real-key' },
      logLevel: 'info',
    }),
  );
  form.set(
    'package',
    await openAsBlob(build.packagePath),
    `${build.manifest.id}-${build.manifest.version}.pxp`,
  );
  const install = await api<Install>(core, '/api/plugins/install/local?wait=true', {
    method: 'POST',
    body: form,
  });
  if (install.state !== 'running') {
    const e = install.error;
    throw new Error(
      `installing ${build.manifest.id} ended ${install.state}${e ? `: ${e.code} at ${e.stage}: ${e.message}\n  hint: ${e.hint}` : ''}`,
    );
  }
  return `${build.manifest.id} ${build.manifest.version} installed (install ${install.id})`;
}

async function hasAdmin(core: RunningCore): Promise<boolean> {
  const response = await fetch(`${core.url}/admin/`);
  return response.ok;
}

async function main(): Promise<void> {
  if (await ensureAdminBuilt({ quiet: true }))
    process.stdout.write('built the Admin (packages/admin/dist)\n');
  // The quick start is a developer's machine: dev mode is on unless PX_PLUGIN_DEV_MODE=0 says otherwise,
  // so that `px-plugin dev --watch` works against it straight away.
  const devMode = process.env.PX_PLUGIN_DEV_MODE !== '0';
  const core = await startCore({
    logLevel: process.env.PX_LOG_LEVEL ?? 'warn',
    processMetrics: true,
    devMode,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping core and its plugins…\n`);
    core.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Re-reads config/plugins/dev_policy.yaml (devMode stays as set above: the option wins).
  process.on('SIGHUP', () => {
    core.reloadPolicy().then(
      () => process.stdout.write('SIGHUP: dev policy re-read\n'),
      (error: unknown) =>
        process.stderr.write(`SIGHUP: dev policy not changed: ${(error as Error).message}\n`),
    );
  });

  let helloLine: string;
  try {
    helloLine = await ensureHelloInstalled(core);
  } catch (error) {
    await core.close();
    throw error;
  }
  const entry = core.entryUrl(SANDBOX, 'com.powerx.plugin.hello');
  const lines = [
    `PowerX core ${core.coreVersion} on ${core.url}${core.devMode ? ' (dev mode)' : ''}`,
    ...((await hasAdmin(core)) ? [`  Admin          ${core.url}/admin/`] : []),
    `  API docs       ${core.url}/docs`,
    `  health         ${core.url}/healthz   metrics: ${core.url}/metrics`,
    `  hello plugin   ${helloLine}`,
    `  entry point    ${entry}hello   (try: curl ${entry}hello?name=you)`,
    `  admin token    ${core.dataDir}/admin-token   (export PX_TOKEN=$(cat ${core.dataDir}/admin-token) PX_API_URL=${core.url})`,
    ...(core.adminPassword
      ? [
          `  admin user     admin / ${core.adminPassword}   (shown once; also in ${core.dataDir}/admin-password)`,
        ]
      : []),
    `  data           ${core.dataDir}`,
    // The audit key must stay out of the data folder; for a local setup core made one beside it.
    `  audit key      ${core.auditKey.source}${core.auditKey.generated ? '   (generated now, outside the data folder; keep it: the audit chain verifies only with it)' : ''}`,
    'Ctrl-C stops core.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  if (isPxError(error))
    process.stderr.write(`error ${error.code}: ${error.message}\n  hint: ${error.hint}\n`);
  else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
