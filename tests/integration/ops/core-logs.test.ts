/**
 * Core's own logs as an operator sees them: core started the way `npm start` starts it (a Node
 * process running packages/core/src/main.ts with PX_* variables), an install through the HTTP API
 * with a secret, then its stdout read line by line: structured JSON, the request id and install
 * id on every line of the install, the secret and the token nowhere, the level from PX_LOG_LEVEL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import { fixturePlugins, keysDir, makeTmp, repoRoot } from '../../support/core-kit.ts';

const SECRET = 'sk-live-OPS-LOG-SECRET-7f3a9c';

interface RunningMain {
  child: ChildProcess;
  url: string;
  token: string;
  stdout(): string;
  stop(): Promise<number | null>;
}

async function startMain(tmp: string, env: Record<string, string>): Promise<RunningMain> {
  const keys = join(tmp, 'keys');
  await mkdir(keys, { recursive: true });
  await copyFile(join(keysDir, 'test.pub.pem'), join(keys, 'test.pub.pem'));
  const child = spawn(process.execPath, [join(repoRoot, 'packages/core/src/main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      PX_DATA_DIR: join(tmp, 'data'),
      PX_PORT: '0',
      PX_PLATFORM_KEYS_DIR: keys,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`core did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`core exited with ${code}:\n${out}`)));
  });
  const token = (await readFile(join(tmp, 'data', 'admin-token'), 'utf8')).trim();
  return {
    child,
    url,
    token,
    stdout: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

function jsonLines(out: string): Array<Record<string, unknown>> {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

let tmp: string;
let core: RunningMain | undefined;
let installId: string;
let requestId: string;
let refusedRequestId: string;

beforeAll(async () => {
  tmp = await makeTmp('px-logs-');
  const pxp = (
    await packDirectory(join(fixturePlugins, 'hello'), join(tmp, 'hello.pxp'), {
      privateKeyPem: await readFile(join(keysDir, 'test.key.pem'), 'utf8'),
    })
  ).file;
  core = await startMain(tmp, { PX_LOG_LEVEL: 'info' });
  const form = new FormData();
  form.append('tenant', 'sandbox-dev');
  form.append('config', JSON.stringify({ env: { TIMES: 2 }, secrets: { API_KEY: SECRET } }));
  form.append('package', await openAsBlob(pxp), 'hello.pxp');
  const r = await fetch(`${core.url}/api/plugins/install/local?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${core.token}`, 'x-request-id': 'ops-log-test-upload-1' },
    body: form,
  });
  const body = (await r.json()) as { id: string; state: string };
  expect(r.status, JSON.stringify(body)).toBe(200);
  installId = body.id;
  requestId = r.headers.get('x-request-id')!;
  // An install refused at validation (signed by an unknown key): its lines tell the rollback.
  const untrusted = (
    await packDirectory(join(fixturePlugins, 'hello'), join(tmp, 'untrusted.pxp'), {
      privateKeyPem: await readFile(join(keysDir, 'untrusted.key.pem'), 'utf8'),
    })
  ).file;
  const refusedForm = new FormData();
  refusedForm.append('tenant', 'sandbox-dev');
  refusedForm.append('config', JSON.stringify({ secrets: { API_KEY: SECRET } }));
  refusedForm.append('package', await openAsBlob(untrusted), 'untrusted.pxp');
  const refused = await fetch(`${core.url}/api/plugins/install/local?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${core.token}` },
    body: refusedForm,
  });
  refusedRequestId = refused.headers.get('x-request-id')!;
  expect(((await refused.json()) as { code: string }).code).toBe('PXP_KEY_UNTRUSTED');
  // A failed login writes its lines too (the password must not appear either).
  await fetch(`${core.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: SECRET }),
  });
}, 90_000);

afterAll(async () => {
  await core?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("core's own logs", () => {
  it('are JSON lines with level, time and message', () => {
    const lines = jsonLines(core!.stdout());
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const line of lines) {
      expect(typeof line.level).toBe('number');
      expect(typeof line.time).toBe('number');
      expect(typeof line.msg).toBe('string');
    }
  });

  it('carry the request id and the install id on every line of an install', () => {
    expect(requestId).toBe('ops-log-test-upload-1'); // a sane incoming x-request-id is kept and echoed
    const lines = jsonLines(core!.stdout());
    const ofInstall = lines.filter((l) => l.installId === installId);
    // One line per stage at least: validating … running.
    const stages = ofInstall.filter((l) => l.msg === 'install stage').map((l) => l.stage);
    expect(stages).toEqual([
      'validating',
      'awaiting_config',
      'provisioning',
      'starting',
      'health_check',
      'seeding',
    ]);
    expect(ofInstall.at(-1)).toMatchObject({
      msg: 'install running',
      stage: 'running',
      pluginId: 'com.fixture.core.hello',
    });
    for (const line of ofInstall) expect(line.reqId, JSON.stringify(line)).toBe(requestId);
    // The request's own lines carry the same request id.
    const ofRequest = lines.filter((l) => l.reqId === requestId).map((l) => l.msg);
    expect(ofRequest).toEqual(
      expect.arrayContaining(['incoming request', 'request completed', 'install stage']),
    );
  });

  it('tell a refused install from validation to failed, with its code, under its own ids', () => {
    expect(refusedRequestId).toMatch(/^[0-9a-f-]{36}$/); // generated when the caller sends none
    const lines = jsonLines(core!.stdout()).filter(
      (l) => l.reqId === refusedRequestId && l.msg === 'install stage',
    );
    expect(lines.map((l) => l.stage)).toEqual(['validating', 'rolling_back', 'failed']);
    expect(new Set(lines.map((l) => l.installId)).size).toBe(1);
    expect(lines[0].installId).not.toBe(installId);
    expect(lines.at(-1)).toMatchObject({ code: 'PXP_KEY_UNTRUSTED' });
  });

  it('never contain a secret value, the password tried or the API token', () => {
    const out = core!.stdout();
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(core!.token);
  });

  it('are counted by level in px_core_log_lines_total', async () => {
    const metrics = await (await fetch(`${core!.url}/metrics`)).text();
    const info = /^px_core_log_lines_total\{level="info"\} (\d+)$/m.exec(metrics);
    expect(Number(info?.[1])).toBeGreaterThanOrEqual(10);
  });

  it('follow PX_LOG_LEVEL: at warn, no info line is written', async () => {
    const quiet = await makeTmp('px-logs-warn-');
    const other = await startMain(quiet, { PX_LOG_LEVEL: 'warn' });
    try {
      await fetch(`${other.url}/api/tenants`, { headers: { authorization: `Bearer ${other.token}` } });
      await fetch(`${other.url}/api/tenants`); // 401: not a warning either
      const lines = jsonLines(other.stdout());
      expect(lines.filter((l) => (l.level as number) < 40)).toEqual([]);
    } finally {
      await other.stop();
      await rm(quiet, { recursive: true, force: true });
    }
  });
});
