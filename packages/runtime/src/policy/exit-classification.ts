/**
 * What the end of a plugin process means. Pure: the supervisor gathers the facts (how it ended,
 * what it was doing, what the kernel and the broker reported) and acts on the verdict.
 */
import type { ErrorCode } from '@powerx/protocol';
import { maskSecrets, secretValues } from './mask-secrets.ts';

export interface ExitFacts {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** A start (or restart) is waiting for this process to become healthy. */
  starting: boolean;
  stopRequested: boolean;
  /** We killed it ourselves because its start failed. */
  discarded: boolean;
  /** The instance is failed already (a quota breach killed it). */
  alreadyFailed: boolean;
  /** The IPC broker ended the instance for what the plugin wrote to its channel. */
  violation?: { code: ErrorCode };
  /** stderr showed V8 / allocator out-of-memory, or the memory cgroup's OOM killer ended it. */
  memoryExhausted: boolean;
  /** Killed by us after failed liveness probes. */
  hung: boolean;
  /** Its data volume is full (ext4 image): a process that dies then most likely died of ENOSPC. */
  diskFull: boolean;
  /** The start failed with this message from the runner (`fatal`), if any. */
  fatalMessage?: string;
  stderrTail: readonly string[];
  /** The secret values the plugin was given: masked in a detail taken from its own output. */
  secrets: readonly string[];
  resources: { memoryMb: number; cpuPercent: number; diskMb: number };
}

export type ExitVerdict =
  /** Nothing to do: a stop, a discarded start, or an instance already failed. */
  | { kind: 'ignore' }
  /** The pending start fails with this error (stop while starting also lands here). */
  | { kind: 'start-failed'; code: ErrorCode; params: Record<string, unknown> }
  /** The instance fails for good (quota or violation): not restarted. */
  | { kind: 'fail'; code: ErrorCode; params: Record<string, unknown> }
  /** A crash: counts against the restart budget. */
  | { kind: 'crash'; how: string };

export function classifyExit(f: ExitFacts): ExitVerdict {
  const how = f.signal ? `signal ${f.signal}` : `code ${f.code}`;
  if (f.starting && f.stopRequested)
    return { kind: 'start-failed', code: 'START_FAILED', params: { detail: 'stopped while starting' } };
  if (f.stopRequested || f.discarded || f.alreadyFailed) return { kind: 'ignore' };
  if (f.violation) return { kind: f.starting ? 'start-failed' : 'fail', code: f.violation.code, params: {} };
  const memory = { usedMb: `>${f.resources.memoryMb}`, limitMb: f.resources.memoryMb };
  const disk = { used: 'all of it (ENOSPC)', limit: `${f.resources.diskMb} MB` };
  if (f.starting) {
    if (f.memoryExhausted) return { kind: 'start-failed', code: 'QUOTA_MEMORY', params: memory };
    if (f.diskFull) return { kind: 'start-failed', code: 'QUOTA_DISK', params: disk };
    // The plugin's own words (its fatal error, its last stderr lines) end up in the install's
    // error, the API, audit entries and core's log: a hostile plugin must not carry its secrets there.
    const said = f.fatalMessage ?? (f.stderrTail.slice(-3).join(' | ') || `exited with ${how}`);
    const detail = maskSecrets(said, secretValues(f.secrets));
    return {
      kind: 'start-failed',
      code: 'START_FAILED',
      params: { detail: `exited with ${how} before it was healthy: ${detail}` },
    };
  }
  if (f.memoryExhausted) return { kind: 'fail', code: 'QUOTA_MEMORY', params: memory };
  if (f.diskFull) return { kind: 'fail', code: 'QUOTA_DISK', params: disk };
  if (f.signal === 'SIGXCPU')
    return {
      kind: 'fail',
      code: 'QUOTA_CPU',
      params: { percent: 100, limitPercent: f.resources.cpuPercent },
    };
  // RLIMIT_FSIZE: one file grew past resources.diskMb (Node ignores SIGXFSZ and gets EFBIG instead).
  if (f.signal === 'SIGXFSZ')
    return {
      kind: 'fail',
      code: 'QUOTA_DISK',
      params: { used: `more than ${f.resources.diskMb} MB in one file`, limit: `${f.resources.diskMb} MB` },
    };
  return {
    kind: 'crash',
    how: f.hung ? 'stopped answering its health checks; killed' : `exited with ${how}`,
  };
}
