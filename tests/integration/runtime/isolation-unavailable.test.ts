/**
 * No silent downgrade: on a host where bubblewrap cannot run, plugins are refused with
 * ISOLATION_UNAVAILABLE unless weak isolation was chosen explicitly — and then the instance says
 * so. The host is made real: a private mount namespace where /usr/bin/bwrap is /dev/null.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir } from './helpers.ts';

function startWithoutBwrap(allowWeak: boolean, root: string): Record<string, unknown> {
  const script = join(import.meta.dirname, 'support', 'start-without-bwrap.ts');
  const out = execFileSync(
    'unshare',
    [
      '-m',
      '/bin/sh',
      '-c',
      'mount --bind /dev/null "$(command -v bwrap)" && exec "$@"',
      'px-no-bwrap',
      process.execPath,
      script,
      join(root, 'run'),
      join(fixturesDir, 'neighbour'),
      join(root, 'data'),
      allowWeak ? '1' : '0',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('a host without bubblewrap', () => {
  it('refuses to start plugins with ISOLATION_UNAVAILABLE and a hint naming the bubblewrap package', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pxnobw-'));
    try {
      const result = startWithoutBwrap(false, root);
      expect(result).toMatchObject({ started: false, code: 'ISOLATION_UNAVAILABLE' });
      expect(String(result.hint)).toMatch(/bubblewrap/);
      expect(String(result.message)).toMatch(/bubblewrap|bwrap/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('starts plugins with weak isolation only when asked, and the report says WEAK', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pxnobw-'));
    try {
      const result = startWithoutBwrap(true, root);
      expect(result).toMatchObject({ started: true, bwrap: null, isolation: { weak: true, seccomp: false } });
      expect(JSON.stringify(result.isolation)).toMatch(/WEAK ISOLATION/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
