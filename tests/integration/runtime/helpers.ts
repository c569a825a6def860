/**
 * Shared pieces of the runtime integration tests: a real in-memory HostServices standing in for
 * core (it records every call with the tenant the supervisor gave), a log sink that keeps lines,
 * fixture loading, and HTTP over a Unix socket.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeManifest, type ManifestSource } from '@powerx/protocol';
import {
  Supervisor,
  type HostServices,
  type PluginLogLine,
  type StartSpec,
  type SupervisorEvent,
  type SupervisorOptions,
} from '@powerx/runtime';

export const fixturesDir = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../packages/runtime/fixtures/plugins',
);

type Doc = { id: string; [k: string]: unknown };

export interface MemoryHost extends HostServices {
  calls: Array<{ op: string; tenant: string; pluginId?: string; collection?: string }>;
  published: Array<{ tenant: string; pluginId: string; type: string; payload: unknown }>;
  emit(tenant: string, type: string, payload: unknown): void;
  docs(tenant: string, pluginId: string, collection: string): Doc[];
}

export function memoryHost(): MemoryHost {
  const data = new Map<string, Map<string, Doc>>();
  const subscribers = new Map<string, Set<(payload: unknown, meta: { type: string; ts: string }) => void>>();
  const calls: MemoryHost['calls'] = [];
  const published: MemoryHost['published'] = [];
  const table = (tenant: string, pluginId: string, collection: string) => {
    const key = `${tenant}\0${pluginId}\0${collection}`;
    let t = data.get(key);
    if (!t) data.set(key, (t = new Map()));
    return t;
  };
  const matches = (doc: Doc, where?: Record<string, unknown>) =>
    !where || Object.entries(where).every(([k, v]) => doc[k] === v);
  return {
    calls,
    published,
    docs: (tenant, pluginId, collection) => [...table(tenant, pluginId, collection).values()],
    emit(tenant, type, payload) {
      for (const handler of subscribers.get(`${tenant}\0${type}`) ?? [])
        handler(payload, { type, ts: new Date().toISOString() });
    },
    storage: {
      async insert(tenant, pluginId, collection, doc) {
        calls.push({ op: 'insert', tenant, pluginId, collection });
        const stored = { ...doc, id: randomUUID() };
        table(tenant, pluginId, collection).set(stored.id, stored);
        return stored;
      },
      async get(tenant, pluginId, collection, id) {
        calls.push({ op: 'get', tenant, pluginId, collection });
        return table(tenant, pluginId, collection).get(id);
      },
      async find(tenant, pluginId, collection, opts) {
        calls.push({ op: 'find', tenant, pluginId, collection });
        const all = [...table(tenant, pluginId, collection).values()].filter((d) => matches(d, opts.where));
        return all.slice(opts.offset ?? 0, (opts.offset ?? 0) + (opts.limit ?? 100));
      },
      async update(tenant, pluginId, collection, id, patch) {
        calls.push({ op: 'update', tenant, pluginId, collection });
        const t = table(tenant, pluginId, collection);
        const doc = t.get(id);
        if (!doc) return undefined;
        const next = { ...doc, ...patch, id };
        t.set(id, next);
        return next;
      },
      async delete(tenant, pluginId, collection, id) {
        calls.push({ op: 'delete', tenant, pluginId, collection });
        return table(tenant, pluginId, collection).delete(id);
      },
      async count(tenant, pluginId, collection, where) {
        calls.push({ op: 'count', tenant, pluginId, collection });
        return [...table(tenant, pluginId, collection).values()].filter((d) => matches(d, where)).length;
      },
    },
    events: {
      async publish(tenant, pluginId, type, payload) {
        calls.push({ op: 'publish', tenant, pluginId });
        published.push({ tenant, pluginId, type, payload });
      },
      subscribe(tenant, type, handler) {
        calls.push({ op: 'subscribe', tenant });
        const key = `${tenant}\0${type}`;
        if (!subscribers.has(key)) subscribers.set(key, new Set());
        subscribers.get(key)!.add(handler);
        return () => subscribers.get(key)?.delete(handler);
      },
    },
    async fetch(url) {
      calls.push({ op: 'fetch', tenant: '' });
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: `fetched ${url}` };
    },
  };
}

export interface Harness {
  supervisor: Supervisor;
  host: MemoryHost;
  lines: PluginLogLine[];
  events: SupervisorEvent[];
  root: string;
  spec(fixture: string, overrides?: Partial<StartSpec>): Promise<StartSpec>;
  close(): Promise<void>;
}

export async function harness(options: Partial<SupervisorOptions> = {}): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'pxrt-'));
  const host = memoryHost();
  const lines: PluginLogLine[] = [];
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor({
    runDir: join(root, 'run'),
    logSink: { write: (line) => lines.push(line) },
    host,
    onEvent: (e) => events.push(e),
    quotaSampleMs: 200,
    cpuBreachSamples: 5,
    restartBackoffMs: 100,
    stopGraceMs: 3000,
    ...options,
  });
  return {
    supervisor,
    host,
    lines,
    events,
    root,
    async spec(fixture, overrides = {}) {
      const versionDir = join(fixturesDir, fixture);
      const source = JSON.parse(await readFile(join(versionDir, 'manifest.json'), 'utf8')) as ManifestSource;
      const manifest = normalizeManifest(source);
      const tenant = overrides.tenant ?? 'sandbox-a';
      return {
        tenant,
        pluginId: manifest.id,
        version: manifest.version,
        versionDir,
        dataDir: join(root, 'data', tenant, manifest.id),
        manifest,
        config: Object.fromEntries(
          manifest.config.env.filter((e) => e.default !== undefined).map((e) => [e.name, e.default!]),
        ),
        secrets: {},
        logLevel: manifest.config.logLevel,
        ...overrides,
      };
    },
    async close() {
      await supervisor.stopAll({ graceMs: 1000 });
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export function request(
  target: { socketPath: string } | { port: number },
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...target, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Resolves when `predicate` holds for an event; no fixed sleeps in tests. */
export function waitFor<T>(check: () => T | undefined | false, what: string, limitMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const value = check();
      if (value) return resolve(value);
      if (Date.now() - started > limitMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

/**
 * Keeps asking the neighbour plugin while a hostile one runs: every request must succeed.
 * `stop()` returns how many answered and every failure seen.
 */
export function keepAsking(socketPath: string): { stop(): Promise<{ ok: number; failures: string[] }> } {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const reply = await request({ socketPath }, '/ping');
        if (reply.status === 200) ok++;
        else failures.push(`status ${reply.status}: ${reply.body.slice(0, 200)}`);
      } catch (error) {
        failures.push(String(error));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failures };
    },
  };
}

/** Pids the supervisor spawned for an instance, read from its runtime log lines. */
export function spawnedPids(lines: PluginLogLine[], pluginId: string): number[] {
  return lines
    .filter((l) => l.plugin === pluginId && l.source === 'runtime')
    .flatMap((l) => {
      // node plugins: the plugin's pid, then its IPC broker's (`… via IPC broker pid N`).
      const m = /^spawned pid (\d+)(?:.* broker pid (\d+))?/.exec(l.msg);
      return m ? [m[1], m[2]].filter(Boolean).map(Number) : [];
    });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
