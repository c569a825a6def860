/**
 * Every committed hostile or broken package fails validation with its own code and a hint,
 * writes nothing outside the staging root and leaves no staging folder behind.
 * The file → code map (fixtures/bad/expected.json) is shared with the CLI's integration test.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePackage } from '@powerx/package-format';

const FIXTURES = fileURLToPath(new URL('../../../packages/package-format/fixtures/', import.meta.url));
const expected = JSON.parse(await readFile(join(FIXTURES, 'bad', 'expected.json'), 'utf8')) as Record<
  string,
  string
>;

let sandbox: string; // holds only `stage`; anything else appearing in it escaped the staging root
let stagingRoot: string;
let trust: string[];
beforeAll(async () => {
  sandbox = await mkdtemp(join(os.tmpdir(), 'pxp-bad-fixtures-'));
  stagingRoot = join(sandbox, 'stage');
  await mkdir(stagingRoot);
  trust = [await readFile(join(FIXTURES, 'keys', 'test.pub.pem'), 'utf8')];
});
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

describe('bad package fixtures', () => {
  it('has a committed file for every expected code and an expected code for every file', async () => {
    const files = (await readdir(join(FIXTURES, 'bad'))).filter((f) => f.endsWith('.pxp')).sort();
    expect(files).toEqual(Object.keys(expected).sort());
    expect(files.length).toBeGreaterThanOrEqual(22);
  });

  // keepStaging: true unpacks to disk as core does; false is the check-only pass px-plugin validate uses.
  const cases = Object.entries(expected).flatMap(([file, code]) =>
    [true, false].map((keepStaging) => [file, code, keepStaging] as const),
  );
  it.each(cases)(
    '%s fails with %s, a hint, and nothing left behind (keepStaging %s)',
    async (file, code, keepStaging) => {
      const report = await validatePackage(join(FIXTURES, 'bad', file), {
        trustedKeys: trust,
        stagingRoot,
        keepStaging,
        coreVersion: '1.0.0',
      });
      expect(report.ok).toBe(false);
      const failed = report.checks.filter((c) => !c.ok && c.code);
      expect(failed.map((c) => c.code)).toEqual([code]);
      expect(failed[0].hint).toBeTruthy();
      expect(failed[0].message).toBeTruthy();
      for (const c of report.checks.filter((c) => !c.ok && !c.code)) expect(c.message).toMatch(/^Not run: /);
      expect(report.stagingDir).toBeUndefined();
      expect(await readdir(stagingRoot)).toEqual([]);
      expect(await readdir(sandbox)).toEqual(['stage']);
      expect(existsSync('/tmp/pxp-fixture-absolute.txt')).toBe(false);
    },
  );
});
