// Run a script again with the repository's Node 26 when the Node that started it is too old.
// Shared by the px-plugin launcher and scripts/qa/workflow-metrics.mjs. Plain JavaScript that
// loads on Node 18+: it must not use anything newer than what an old system Node has.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';

/** True when this process's Node is at least `min` ("22.5.0"). */
export function nodeAtLeast(min) {
  const have = process.versions.node.split('.').map(Number);
  const want = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

/** The real path of the `node` package's bin/node as resolved from `fromFile`, or undefined. */
export function findRepoNode(fromFile) {
  try {
    const require = createRequire(fromFile);
    const candidate = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
    return existsSync(candidate) ? realpathSync(candidate) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `script` with `nodeBin` and the same arguments, stdio inherited, and mirrors the child's
 * exit: same code, or the same signal. `guardEnv` is set in the child so a child that still finds
 * itself on an old Node reports instead of re-executing in a loop.
 */
export function reexec(nodeBin, script, { guardEnv, onSpawnError }) {
  const child = spawn(nodeBin, [script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [guardEnv]: '1' },
  });
  // Forward the signals a terminal or a supervisor sends, so Ctrl-C and `kill` reach the child.
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => forward(signal));
  child.on('error', (error) => {
    process.stderr.write(onSpawnError(error));
    process.exit(3);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal so the parent shell sees the same status (e.g. 130 for SIGINT).
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 3);
  });
  return child;
}
