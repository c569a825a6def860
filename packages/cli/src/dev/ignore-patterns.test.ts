import { describe, expect, it } from 'vitest';
import { ignoreMatcher } from './ignore-patterns.ts';

describe('ignoreMatcher', () => {
  const ignored = ignoreMatcher('/p', ['docs/**', '**/*.md']);

  it('ignores the dev output, dependencies, VCS folders and editor droppings', () => {
    for (const path of [
      '/p/.px-dev',
      '/p/.px-dev/build/dist/server.js',
      '/p/dist/server.js',
      '/p/node_modules/x/index.js',
      '/p/.git/HEAD',
      '/p/hello.pxp',
      '/p/src/.#server.ts',
      '/p/src/server.ts~',
      '/p/src/.server.ts.swp',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it('ignores --ignore globs relative to the project', () => {
    expect(ignored('/p/docs/guide/intro.txt')).toBe(true);
    expect(ignored('/p/src/notes.md')).toBe(true);
  });

  it('watches sources, the manifest, admin files and the project folder itself', () => {
    for (const path of [
      '/p',
      '/p/src/server.ts',
      '/p/plugin.yaml',
      '/p/admin/index.html',
      '/p/src/lib/distance.ts',
    ])
      expect(ignored(path), path).toBe(false);
  });
});
