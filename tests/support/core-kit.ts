/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * The shared core test kit (integration, dev, ops and data-safety tests): real core servers on random ports with temp data
 * dirs, fixture plugins packed into signed .pxp files, and a small HTTP client.
 */
import { mkdtemp, readFile, rm, readdir, stat } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import { afterAll, beforeAll, expect } from 'vitest';
import { startCore, type RunningCore, type StartCoreOptions } from '@powerx/core';
import { openTestStore, type StoreKind, type TestStore } from './test-stores.ts';

export { TEST_STORES, type StoreKind } from './test-stores.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const fixturePlugins = join(repoRoot, 'tests/fixtures/plugins');
export const keysDir = join(repoRoot, 'packages/package-format/fixtures/keys');
export const badPackages = join(repoRoot, 'packages/package-format/fixtures/bad');
export const coreFixtures = join(repoRoot, 'tests/integration/core/fixtures');

export const HELLO_ID = 'com.fixture.core.hello';

export async function testKeys(): Promise<{
  privateKeyPem: string;
  publicKeyPem: string;
  untrustedPrivateKeyPem: string;
  untrustedPublicKeyPem: string;
}> {
  return {
    privateKeyPem: await readFile(join(keysDir, 'test.key.pem'), 'utf8'),
    publicKeyPem: await readFile(join(keysDir, 'test.pub.pem'), 'utf8'),
    untrustedPrivateKeyPem: await readFile(join(keysDir, 'untrusted.key.pem'), 'utf8'),
    untrustedPublicKeyPem: await readFile(join(keysDir, 'untrusted.pub.pem'), 'utf8'),
  };
}

/** Packs every fixture plugin folder, signed with the test key; returns name → .pxp path. */
export async function packFixtures(
  outDir: string,
  opts: { unsigned?: boolean; privateKeyPem?: string } = {},
): Promise<Record<string, string>> {
  const key = opts.unsigned ? undefined : (opts.privateKeyPem ?? (await testKeys()).privateKeyPem);
  const out: Record<string, string> = {};
  for (const name of await readdir(fixturePlugins)) {
    if (!(await stat(join(fixturePlugins, name))).isDirectory()) continue;
    out[name] = (
      await packDirectory(
        join(fixturePlugins, name),
        join(outDir, `${name}.pxp`),
        key ? { privateKeyPem: key } : {},
      )
    ).file;
  }
  return out;
}

/**
 * For a file whose tests all play against one fixture plugin (tests/fixtures/plugins/<fixture>):
 * a core with it installed and running in sandbox-dev before the file's tests, stopped after
 * them. `core` is set once the file's beforeAll has run: read it inside the tests.
 */
export function useCoreWithPlugin(
  fixture: string,
  opts: { core?: StartCoreOptions; config?: unknown } = {},
): { core: TestCore } {
  const state = {} as { core: TestCore };
  let tmp: string | undefined;
  beforeAll(async () => {
    tmp = await makeTmp();
    const { file } = await packDirectory(join(fixturePlugins, fixture), join(tmp, `${fixture}.pxp`), {
      privateKeyPem: (await testKeys()).privateKeyPem,
    });
    state.core = await startTestCore(opts.core);
    const r = await state.core.api.install(file, opts.config === undefined ? {} : { config: opts.config });
    expect(r.body.state, JSON.stringify(r.body)).toBe('running');
  }, 60_000);
  afterAll(async () => {
    await stopTestCore(state.core);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  return state;
}

export interface TestCore extends RunningCore {
  api: Api;
  tmp: string;
  store: TestStore;
  /** Raw SQL against this core's store (`?` placeholders). */
  sql(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
}

export async function makeTmp(prefix = 'pxc-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A core on a random port, trusting the test key as a platform key unless told otherwise. */
export async function startTestCore(
  opts: StartCoreOptions & { tmp?: string; store?: StoreKind } = {},
): Promise<TestCore> {
  const tmp = opts.tmp ?? (await makeTmp());
  const { publicKeyPem } = await testKeys();
  const { store: kind, ...coreOpts } = opts;
  const store = await openTestStore(kind ?? 'sqlite');
  const core = await startCore({
    dataDir: join(tmp, 'data'),
    port: 0,
    logLevel: process.env.PX_TEST_LOG_LEVEL ?? 'silent',
    platformKeys: [publicKeyPem],
    platformKeysDir: false,
    processMetrics: false,
    ...store.options,
    ...coreOpts,
  }).catch(async (error) => {
    await store.drop();
    if (!opts.tmp) await rm(tmp, { recursive: true, force: true });
    throw error;
  });
  return Object.assign(core, {
    api: new Api(core.url, core.adminToken),
    tmp,
    store,
    sql: (text: string, params?: unknown[]) => store.sql(core.dataDir, text, params),
  });
}

export async function stopTestCore(core: TestCore | undefined): Promise<void> {
  if (!core) return;
  await core.close();
  await core.store.drop();
  await rm(core.tmp, { recursive: true, force: true });
}

export interface Res<T = any> {
  status: number;
  body: T;
}

export class Api {
  readonly url: string;
  readonly token: string;
  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  as(token: string): Api {
    return new Api(this.url, token);
  }

  async req<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res<T>> {
    const r = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return {
      status: r.status,
      body: text ? (r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) : undefined,
    } as Res<T>;
  }

  get<T = any>(path: string) {
    return this.req<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.req<T>('POST', path, body ?? {}, headers);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.req<T>('PUT', path, body ?? {});
  }
  delete<T = any>(path: string) {
    return this.req<T>('DELETE', path);
  }

  /** multipart upload of a .pxp: tenant first, then config, then the file. */
  async upload<T = any>(
    path: string,
    pxp: string,
    fields: { tenant?: string; config?: unknown; wait?: boolean; idempotencyKey?: string } = {},
  ): Promise<Res<T>> {
    const form = new FormData();
    if (fields.tenant !== undefined) form.append('tenant', fields.tenant);
    if (fields.config !== undefined) form.append('config', JSON.stringify(fields.config));
    form.append('package', await openAsBlob(pxp), 'package.pxp');
    const r = await fetch(`${this.url}${path}${fields.wait === false ? '' : '?wait=true'}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(fields.idempotencyKey ? { 'idempotency-key': fields.idempotencyKey } : {}),
      },
      body: form,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined } as Res<T>;
  }

  install<T = any>(
    pxp: string,
    fields: { tenant?: string; config?: unknown; wait?: boolean; idempotencyKey?: string } = {},
  ) {
    return this.upload<T>('/api/plugins/install/local', pxp, { tenant: 'sandbox-dev', ...fields });
  }

  validate<T = any>(pxp: string, tenant = 'sandbox-dev') {
    return this.upload<T>('/internal/plugins/packages/validate', pxp, { tenant, wait: false });
  }

  /** Creates a user with the given permissions and returns an Api acting as that user. */
  async user(username: string, permissions: string[], tenants: string[] = []): Promise<Api> {
    const created = await this.post('/api/users', { username, password: 'password-123', permissions });
    if (created.status !== 201)
      throw new Error(`create user: ${created.status} ${JSON.stringify(created.body)}`);
    for (const tenant of tenants) await this.post(`/api/tenants/${tenant}/members`, { username });
    const login = await this.post('/api/auth/login', { username, password: 'password-123' });
    return this.as(login.body.token);
  }

  async waitInstall(id: string, until: (state: string) => boolean): Promise<any> {
    for (;;) {
      const r = await this.get(`/api/installs/${id}`);
      if (until(r.body.state)) return r.body;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

/** Files and folders (with a trailing /) under a folder, relative, for "nothing was left behind" assertions. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.push(`${r}/`);
        await walk(join(d, e.name), r);
      } else out.push(r);
    }
  }
  await walk(dir, '');
  return out.sort();
}
