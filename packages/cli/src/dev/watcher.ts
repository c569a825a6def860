/**
 * Watches a plugin project and calls `onChange` once per burst of saves (debounced): editors
 * write a file in several steps, and "save all" touches many files at once.
 */
import { watch, type FSWatcher } from 'chokidar';
import { ignoreMatcher } from './ignore-patterns.ts';

export interface ProjectWatcher {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchProject(
  projectDir: string,
  opts: { debounceMs: number; ignore?: string[]; onChange(paths: string[]): void },
): ProjectWatcher {
  const ignored = ignoreMatcher(projectDir, opts.ignore);
  const watcher: FSWatcher = watch(projectDir, { ignored, ignoreInitial: true, persistent: true });
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    timer = undefined;
    const paths = [...pending];
    pending = new Set();
    if (paths.length) opts.onChange(paths);
  };
  watcher.on('all', (_event, path) => {
    pending.add(path);
    clearTimeout(timer);
    timer = setTimeout(fire, opts.debounceMs);
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
