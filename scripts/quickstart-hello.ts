/**
 * The example plugin of the quick starts (`npm start`, `npm run cluster:node`): builds
 * examples/hello, signs it with a developer key of the data folder registered for the admin, and
 * installs it into the sandbox tenant through the real upload flow (wizard values given), unless
 * that version already runs.
 */
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningCore } from '@powerx/core';
import { generateKeyPair } from '@powerx/package-format';
import { buildProject } from '@powerx/cli';
import type { Install, InstalledPlugin } from '@powerx/protocol';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SANDBOX = 'sandbox-dev';
export const HELLO_ID = 'com.powerx.plugin.hello';
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

export async function ensureHelloInstalled(core: RunningCore): Promise<string> {
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
