/**
 * Every hostile or broken package fixture of package-format, validated through the real CLI:
 * non-zero exit, its own code printed with a hint, and nothing left in the temp folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAUNCHER, REPO_ROOT, shellEnv } from './run-cli.ts';

const FIXTURES = join(REPO_ROOT, 'packages/package-format/fixtures');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'bad/expected.json'), 'utf8')) as Record<
  string,
  string
>;
const TRUSTED = join(FIXTURES, 'keys/test.pub.pem');

describe('px-plugin validate on bad packages', () => {
  let root: string;
  let home: string;
  let scratch: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'px-cli-bad-'));
    home = join(root, 'home');
    scratch = join(root, 'tmp');
    mkdirSync(home);
    mkdirSync(scratch);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** The CLI with TMPDIR pointed at a folder of our own, so we can see that it stays empty. */
  const validate = (args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [LAUNCHER, 'validate', '--trust', TRUSTED, '--no-default-keys', ...args],
      {
        cwd: root,
        env: { ...shellEnv(home), TMPDIR: scratch },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('has fixtures to run', () => {
    expect(Object.keys(expected).length).toBeGreaterThan(20);
  });

  it.each(Object.entries(expected))(
    'refuses %s with %s, a hint and a non-zero exit, leaving nothing behind',
    (file, code) => {
      const r = validate([join(FIXTURES, 'bad', file)]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).not.toBe(0);
      expect(r.stdout).toContain(`✗`);
      expect(r.stdout).toContain(code);
      expect(r.stdout).toContain('hint:');
      expect(readdirSync(scratch)).toEqual([]);
    },
  );

  it('reports the fixture codes in --json for scripts', () => {
    const r = validate(['--json', join(FIXTURES, 'bad/tampered-file.pxp')]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      checks: Array<{ ok: boolean; code?: string; hint?: string }>;
    };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.code === 'PXP_HASH_MISMATCH')?.hint).toBeTruthy();
  });

  it('accepts the good fixture signed by the trusted key', () => {
    const r = validate([join(FIXTURES, 'good/hello.pxp')]);
    expect(r.code, r.stdout).toBe(0);
    expect(readdirSync(scratch)).toEqual([]);
  });
});
