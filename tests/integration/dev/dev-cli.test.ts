/**
 * `px-plugin dev --watch` and `px-plugin logs -f` as a developer runs them: real CLI processes
 * (HOME in a temp folder) against a real dev-mode core, editing real files.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER, REPO_ROOT, shellEnv } from '../cli/run-cli.ts';
import { createServer } from 'node:net';
import {
  FIXTURES,
  makeTmp,
  pluginProcesses,
  startDevCore,
  stopTestCore,
  until,
  type TestCore,
} from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();
process.env.PX_DEV_GRACE_MS = '300';

const HELLO = 'com.powerx.plugin.hello';
const PROJECT = 'com.fixture.dev.project';

let core: TestCore;
const running: ChildProcess[] = [];

beforeAll(async () => {
  core = await startDevCore();
});
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await stopTestCore(core);
});

interface Cli {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  exit(): Promise<number | null>;
}

function cli(args: string[], cwd: string, target: TestCore = core): Cli {
  const env = { ...shellEnv(join(target.tmp, 'home')), PX_API_URL: target.url, PX_TOKEN: target.adminToken };
  const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd, env });
  running.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    waitFor: (re, timeoutMs = 30_000) =>
      until(() => text, { ok: (t) => re.test(t), message: `${re} in:\n${text}`, timeoutMs: timeoutMs }).then(
        () => undefined,
      ),
    exit: () => exited,
  };
}

async function copyProject(from: string, name: string, target: TestCore = core): Promise<string> {
  const dir = join(target.tmp, name);
  await cp(from, dir, {
    recursive: true,
    filter: (src) => !src.includes('node_modules') && !src.endsWith('.pxp'),
  });
  return dir;
}

async function edit(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`nothing to replace in ${file}`);
  await writeFile(file, next);
}

const entry = (plugin: string, path: string) =>
  fetch(`${core.entryUrl('sandbox-dev', plugin)}${path}`).then(async (r) => ({
    status: r.status,
    text: await r.text(),
  }));

describe('px-plugin dev --watch', () => {
  it('on the hello example: a save makes the entry point answer the new text; reload timing and plugin logs on screen; a syntax error keeps the old version and shows file:line; Ctrl-C ends the session', async () => {
    const dir = await copyProject(join(REPO_ROOT, 'examples/hello'), 'hello-example');
    const dev = cli(['dev', '--watch'], dir);
    await dev.waitFor(/reload #1 ✓ com\.powerx\.plugin\.hello 0\.1\.0 serving/);
    // Where to look, printed at start before any build: the entry point and the Admin page.
    expect(dev.output()).toContain(`entry point  ${core.url}/_p/sandbox-dev/com.powerx.plugin.hello/`);
    expect(dev.output()).toContain(
      `admin        ${core.url}/admin/t/sandbox-dev/plugins/com.powerx.plugin.hello`,
    );
    expect(dev.output().indexOf('entry point')).toBeLessThan(dev.output().indexOf('reload #1'));
    // The effective dev policy, as core serves it, before the first reload.
    expect(dev.output()).toMatch(
      /policy \S+dev_policy\.yaml: unsigned dev builds allowed in sandbox-dev · path installs from \S+ · sessions expire after \d+(\.\d+)? s without heartbeat, 10 per user · logs kept 7 d, dev audit details 7 d · overridden: devMode \(devMode option\), roots \(PX_DEV_ROOTS\)/,
    );
    const t = String.raw`(\d+ ms|\d+\.\d+ s)`;
    expect(dev.output()).toMatch(
      new RegExp(
        `build ${t} · push ${t} \\(path\\) · validate ${t} · start ${t} · health ${t} · switch ${t} · total ${t}`,
      ),
    );
    expect(JSON.parse((await entry(HELLO, 'hello?name=dev')).text).message).toBe('Hello, dev!');
    await dev.waitFor(/INFO {2}0\.1\.0 greeted/); // the plugin's own log line, streamed from /api/ws

    const server = join(dir, 'src/server.ts');
    await edit(server, '${who}!`', '${who}, from the watcher!`');
    await dev.waitFor(/reload #2 ✓/);
    expect(JSON.parse((await entry(HELLO, 'hello?name=dev')).text).message).toBe(
      'Hello, dev, from the watcher!',
    );

    await edit(
      server,
      "const GREETED_EVENT = 'hello.greeted';",
      "const GREETED_EVENT = 'hello.greeted'\nconst broken = ;",
    );
    await dev.waitFor(/build #3 failed, nothing pushed · 0\.1\.0 keeps serving/);
    await dev.waitFor(/src\/server\.ts:\d+:\d+: Unexpected ";"/);
    expect(JSON.parse((await entry(HELLO, 'hello?name=dev')).text).message).toBe(
      'Hello, dev, from the watcher!',
    );

    dev.child.kill('SIGINT');
    expect(await dev.exit()).toBe(0);
    expect(dev.output()).toContain('dev session ended · plugin uninstalled');
    expect((await entry(HELLO, 'hello')).status).toBe(404);
    expect(await stat(join(dir, '.px-dev')).catch(() => 'removed')).toBe('removed');
  });

  it('--keep leaves the plugin installed; --push upload works like a remote core; logs -f follows the same feed', async () => {
    const dir = await copyProject(join(FIXTURES, 'hello-project'), 'keep-project');
    const dev = cli(['dev', '--watch', '--keep', '--push', 'upload', '--level', 'info'], dir);
    await dev.waitFor(/reload #1 ✓ .* serving/);
    expect(dev.output()).toContain('(upload)');
    await dev.waitFor(/started with first/);

    const follow = cli(['logs', PROJECT, '--tenant', 'sandbox-dev', '-f', '-n', '5'], dir);
    await until(() => entry(PROJECT, 'hello'), { ok: (r) => r.status === 200, message: 'entry' });
    await follow.waitFor(/hello served/);

    await edit(join(dir, 'src/server.ts'), "'first'", "'second'");
    await dev.waitFor(/reload #2 ✓/);
    expect(JSON.parse((await entry(PROJECT, 'hello')).text).message).toBe('second');
    await follow.waitFor(/started with second/);

    dev.child.kill('SIGINT');
    expect(await dev.exit()).toBe(0);
    expect(dev.output()).toContain('plugin kept installed');
    expect(JSON.parse((await entry(PROJECT, 'hello')).text).message).toBe('second');
    follow.child.kill('SIGINT');
    expect(await follow.exit()).toBe(0);
  });

  it('a plugin installed before the session: the start says Ctrl-C will uninstall it, and Ctrl-C says what it removes', async () => {
    const dir = await copyProject(join(FIXTURES, 'hello-project'), 'before-project');
    await edit(join(dir, 'plugin.yaml'), 'id: com.fixture.dev.project', 'id: com.fixture.dev.before');
    const once = cli(['dev', '--no-logs'], dir);
    expect(await once.exit()).toBe(0);
    expect(once.output()).not.toMatch(/already installed/);
    expect((await entry('com.fixture.dev.before', 'hello')).status).toBe(200);

    const dev = cli(['dev', '--watch'], dir);
    await dev.waitFor(
      /com\.fixture\.dev\.before 0\.1\.0 was already installed in sandbox-dev before this session: .* Ctrl-C uninstalls the plugin \(use --keep/,
    );
    await dev.waitFor(/reload #1 /);
    dev.child.kill('SIGINT');
    expect(await dev.exit()).toBe(0);
    expect(dev.output()).toMatch(
      /uninstalling com\.fixture\.dev\.before from sandbox-dev \(it had 0\.1\.0 installed before this session; that is removed too/,
    );
    expect(dev.output()).toContain('plugin uninstalled');
    expect((await entry('com.fixture.dev.before', 'hello')).status).not.toBe(200);
  });

  it('a second px-plugin dev on the same plugin is refused with the holder named', async () => {
    const dir = await copyProject(join(FIXTURES, 'hello-project'), 'second-project');
    const first = cli(['dev', '--watch'], dir);
    await first.waitFor(/reload #1 ✓/);
    const second = cli(['dev', '--watch'], dir);
    expect(await second.exit()).not.toBe(0);
    expect(second.output()).toMatch(
      /DEV_SESSION_CONFLICT .* held by admin \(px-plugin dev on .* \(pid \d+\)/,
    );
    first.child.kill('SIGINT');
    expect(await first.exit()).toBe(0);
  });

  it('ten saves within a second: the last one serves, and the plugin is back to one process', async () => {
    const dir = await copyProject(join(FIXTURES, 'hello-project'), 'rapid-project');
    await edit(join(dir, 'plugin.yaml'), 'id: com.fixture.dev.project', 'id: com.fixture.dev.rapid');
    const dev = cli(['dev', '--watch', '--no-logs'], dir);
    await dev.waitFor(/reload #1 ✓/);
    const server = join(dir, 'src/server.ts');
    const original = await readFile(server, 'utf8');
    for (let i = 1; i <= 10; i++) {
      await writeFile(server, original.replace("'first'", `'save ${i}'`));
      await new Promise((r) => setTimeout(r, 90));
    }
    await until(() => entry('com.fixture.dev.rapid', 'hello'), {
      ok: (r) => r.text.includes('save 10'),
      message: 'the last save serving',
    });
    const reloads = (dev.output().match(/reload #\d+ ✓/g) ?? []).length;
    expect(reloads).toBeLessThan(11); // coalesced, not one install per save
    await until(
      async () =>
        (await readdir(join(core.dataDir, 'tenants/sandbox-dev/plugins/com.fixture.dev.rapid/versions')))
          .length,
      { ok: (n) => n <= 2, message: 'old versions dropped' },
    );
    dev.child.kill('SIGINT');
    expect(await dev.exit()).toBe(0);
    expect(await pluginProcesses(core)).toBeLessThanOrEqual(2); // what other tests of this file keep installed
  });

  it('without --watch installs once and leaves the plugin; a build error exits 1 with file:line', async () => {
    const dir = await copyProject(join(FIXTURES, 'hello-project'), 'once-project');
    await edit(join(dir, 'plugin.yaml'), 'id: com.fixture.dev.project', 'id: com.fixture.dev.once');
    const once = cli(['dev', '--no-logs'], dir);
    expect(await once.exit()).toBe(0);
    expect(once.output()).toMatch(/reload #1 ✓ com\.fixture\.dev\.once 0\.1\.0 serving/);
    expect(JSON.parse((await entry('com.fixture.dev.once', 'hello')).text).message).toBe('first');

    await edit(join(dir, 'src/server.ts'), "const MESSAGE: string = 'first';", 'const MESSAGE: string = ;');
    const broken = cli(['dev', '--no-logs'], dir);
    expect(await broken.exit()).toBe(1);
    expect(broken.output()).toMatch(/src\/server\.ts:3:\d+: Unexpected ";"/);
    expect(JSON.parse((await entry('com.fixture.dev.once', 'hello')).text).message).toBe('first');
  });

  it('keeps working across a core restart in the middle of the session', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const tmp = await makeTmp('pxdev-cli-restart-');
    let own: TestCore | undefined = await startDevCore({ tmp, port });
    try {
      const dir = await copyProject(join(FIXTURES, 'hello-project'), 'restart-project', own);
      const dev = cli(['dev', '--watch'], dir, own);
      await dev.waitFor(/reload #1 ✓/);
      await own.close();
      // Saved while core is down: the push fails, and is retried until core is back.
      await edit(join(dir, 'src/server.ts'), "'first'", "'after restart'");
      await dev.waitFor(/reload #2 not pushed: .*retrying/);
      own = await startDevCore({ tmp, port });
      const url = `${own.entryUrl('sandbox-dev', PROJECT)}hello`;
      await until(() => fetch(url).then((r) => r.text()), {
        ok: (t) => t.includes('after restart'),
        message: 'the saved version serving on the restarted core',
        timeoutMs: 20_000,
      });
      await dev.waitFor(/started with after restart/); // the log stream reconnected on its own
      dev.child.kill('SIGINT');
      expect(await dev.exit()).toBe(0);
      expect(dev.output()).toContain('plugin uninstalled');
    } finally {
      await stopTestCore(own);
    }
  });
});
