/**
 * bin/px-plugin.js must start on whatever Node a developer's shell has (the system Node here is
 * 20) and hand over to the repository's Node 26, keeping the exit code.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAUNCHER, REPO_ROOT, shellEnv } from './run-cli.ts';

/** An older Node on this machine, if there is one (the launcher's re-exec path needs it). */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    const r = spawnSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' });
    if (r.status === 0 && Number(r.stdout.trim()) < 26) return candidate;
  }
  return undefined;
}

const OLD_NODE = olderNode();
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }
).version;

describe.skipIf(!OLD_NODE)('the px-plugin launcher on an older Node', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'px-launcher-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const run = (script: string, args: string[]) =>
    spawnSync(OLD_NODE!, [script, ...args], { cwd: root, env: shellEnv(root), encoding: 'utf8' });

  it('re-executes itself with the repository Node 26 and prints the version', () => {
    const r = run(LAUNCHER, ['--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('passes the exit code of the CLI through (2 for an unknown command)', () => {
    const r = run(LAUNCHER, ['no-such-command']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('USAGE');
  });

  it('explains how to get Node 26 when it cannot find one, with exit code 3', () => {
    const lonely = join(root, 'lonely/bin');
    mkdirSync(lonely, { recursive: true });
    copyFileSync(LAUNCHER, join(lonely, 'px-plugin.js'));
    const r = run(join(lonely, 'px-plugin.js'), ['--version']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('needs Node.js 26');
    expect(r.stderr).toContain('hint:');
  });
});
