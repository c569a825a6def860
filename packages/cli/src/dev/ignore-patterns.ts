/**
 * What `px-plugin dev --watch` does not react to: its own output, dependencies, VCS folders and
 * editor droppings, plus `--ignore <glob>` patterns (matched with Node's path.matchesGlob against
 * the path relative to the project, e.g. "docs/**" or "**\/*.md").
 */
import { matchesGlob, relative, sep } from 'node:path';

export const DEFAULT_IGNORES = [
  '.px-dev/**',
  'dist/**',
  'node_modules/**',
  '.git/**',
  '**/*.pxp',
  '**/*.tmp-*',
  '**/.#*',
  '**/*~',
  '**/*.swp',
  '**/.*.swp',
  '**/.*.swx',
  '**/.DS_Store',
];

export function ignoreMatcher(projectDir: string, extra: string[] = []): (path: string) => boolean {
  const patterns = [...DEFAULT_IGNORES, ...extra];
  return (path: string) => {
    const rel = relative(projectDir, path).split(sep).join('/');
    if (!rel || rel.startsWith('..')) return false;
    return patterns.some(
      (p) =>
        matchesGlob(rel, p) ||
        matchesGlob(`${rel}/`, p) ||
        (p.endsWith('/**') && (rel === p.slice(0, -3) || rel.startsWith(p.slice(0, -2)))),
    );
  };
}
