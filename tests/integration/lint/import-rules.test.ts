/**
 * The house rules run: the import table of docs/architecture.md and "core reads no process.env"
 * are lint errors under the repository's own eslint.config.js (what `npm run lint` runs).
 * Each wrong import is a real file in fixtures/, linted as if it lay in the package it names.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_RULES, PACKAGES } from '../../../scripts/import-rules.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const fixtures = join(import.meta.dirname, 'fixtures');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: repoRoot });
});

/** The rule ids of the errors `code` gets when it lies at `path` (relative to the repository). */
async function lintAs(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, path) });
  return result.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

async function fixture(name: string): Promise<string> {
  return readFile(join(fixtures, name), 'utf8');
}

describe('the import rules', () => {
  it('fail lint for protocol importing core', async () => {
    expect(await lintAs('packages/protocol/src/wrong.ts', await fixture('protocol-imports-core.ts'))).toEqual(
      [expect.stringMatching(/^boundaries\/dependencies: protocol may import only nothing of ours/)],
    );
  });

  it('fail lint for a relative path into another package', async () => {
    expect(
      await lintAs('packages/cli/src/wrong.ts', await fixture('relative-import-across-packages.ts')),
    ).toEqual([
      expect.stringMatching(/^boundaries\/dependencies: cli may import only protocol, package-format/),
    ]);
  });

  it('fail lint for a value import from protocol in the Admin, and pass its type imports', async () => {
    expect(await lintAs('packages/admin/src/wrong.ts', await fixture('admin-value-import.ts'))).toEqual([
      expect.stringMatching(/^boundaries\/dependencies: admin may import only types from protocol/),
    ]);
    expect(
      await lintAs(
        'packages/admin/src/fine.ts',
        "import type { Manifest } from '@powerx/protocol';\nexport const m: Manifest | undefined = undefined;\n",
      ),
    ).toEqual([]);
  });

  it('fail lint for core reading process.env outside its config', async () => {
    const code = await fixture('core-reads-env.ts');
    expect(await lintAs('packages/core/src/http/wrong.ts', code)).toEqual([
      expect.stringMatching(/^no-restricted-properties: .*CoreConfig/),
    ]);
    expect(await lintAs('packages/core/src/config/core-config.ts', code)).toEqual([]);
  });

  it('hold for every pair of packages exactly as the table says', async () => {
    const wrong: string[] = [];
    for (const from of PACKAGES)
      for (const to of PACKAGES.filter((p) => p !== from)) {
        const errors = await lintAs(
          `packages/${from}/src/probe.ts`,
          `import * as other from '@powerx/${to}';\nexport const probe = other;\n`,
        );
        const allowed =
          IMPORT_RULES[from].imports.includes(to) && !(IMPORT_RULES[from].typesOnly ?? []).includes(to);
        if (allowed !== (errors.length === 0))
          wrong.push(`${from} → ${to}: ${errors.join('; ') || 'no error'}`);
      }
    expect(wrong).toEqual([]);
  });
});

describe('comments', () => {
  it('never name an issue number: the code says why, the history lives in git', async () => {
    const { glob } = await import('node:fs/promises');
    const offenders: string[] = [];
    for await (const file of glob('{packages,tests,bench,scripts,examples}/**/*.{ts,tsx,js,mjs}', {
      cwd: repoRoot,
      exclude: (name) => name === 'node_modules' || name === 'fixtures' || name === 'dist',
    })) {
      const lines = (await readFile(join(repoRoot, file), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        const comment = /(\/\/|\/\*|^\s*\*)(.*)$/.exec(line)?.[2];
        if (comment && /\bissues? \d+\b|\(#\d+\)/i.test(comment)) offenders.push(`${file}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
