import { describe, expect, it } from 'vitest';
import { classifyExit, type ExitFacts } from './exit-classification.ts';

const base: ExitFacts = {
  code: 1,
  signal: null,
  starting: false,
  stopRequested: false,
  discarded: false,
  alreadyFailed: false,
  memoryExhausted: false,
  hung: false,
  diskFull: false,
  stderrTail: [],
  secrets: [],
  resources: { memoryMb: 64, cpuPercent: 50, diskMb: 16 },
};

describe('exit classification', () => {
  it('reads an exit after a stop as nothing to do', () => {
    expect(classifyExit({ ...base, stopRequested: true })).toEqual({ kind: 'ignore' });
  });

  it('fails a pending start when the instance is stopped while starting', () => {
    expect(classifyExit({ ...base, starting: true, stopRequested: true })).toMatchObject({
      kind: 'start-failed',
      code: 'START_FAILED',
    });
  });

  it('ignores a process killed for a failed start or after a quota breach', () => {
    expect(classifyExit({ ...base, discarded: true })).toEqual({ kind: 'ignore' });
    expect(classifyExit({ ...base, alreadyFailed: true })).toEqual({ kind: 'ignore' });
  });

  it('fails for an IPC violation, during start or later', () => {
    expect(classifyExit({ ...base, violation: { code: 'RPC_INVALID' } })).toMatchObject({
      kind: 'fail',
      code: 'RPC_INVALID',
    });
    expect(classifyExit({ ...base, starting: true, violation: { code: 'RPC_INVALID' } })).toMatchObject({
      kind: 'start-failed',
    });
  });

  it('names the runner’s fatal message or the stderr tail when a start dies', () => {
    const v = classifyExit({ ...base, starting: true, fatalMessage: 'boom' });
    expect(v).toMatchObject({ kind: 'start-failed', code: 'START_FAILED' });
    expect(String((v as unknown as { params: { detail: string } }).params.detail)).toMatch(/code 1 .*boom/);
    const w = classifyExit({ ...base, starting: true, stderrTail: ['a', 'b', 'c', 'd'] });
    expect((w as unknown as { params: { detail: string } }).params.detail).toMatch(/b \| c \| d$/);
  });

  it('masks the secrets the plugin was given in a detail taken from its own output', () => {
    const secrets = ['s3cr3t-key', 's3cr3t'];
    const fatal = classifyExit({ ...base, starting: true, secrets, fatalMessage: 'key is s3cr3t-key' });
    const tail = classifyExit({ ...base, starting: true, secrets, stderrTail: ['x s3cr3t y', 'z'] });
    const detail = (v: unknown) => (v as { params: { detail: string } }).params.detail;
    expect(detail(fatal)).toMatch(/key is \[secret\]$/);
    expect(detail(tail)).toMatch(/x \[secret\] y \| z$/);
    expect(detail(fatal) + detail(tail)).not.toContain('s3cr3t');
  });

  it('turns out-of-memory into QUOTA_MEMORY, not a crash', () => {
    expect(classifyExit({ ...base, signal: 'SIGKILL', memoryExhausted: true })).toMatchObject({
      kind: 'fail',
      code: 'QUOTA_MEMORY',
    });
    expect(classifyExit({ ...base, starting: true, memoryExhausted: true })).toMatchObject({
      kind: 'start-failed',
      code: 'QUOTA_MEMORY',
    });
  });

  it('reads a death on a full data volume as QUOTA_DISK', () => {
    expect(classifyExit({ ...base, diskFull: true })).toEqual({
      kind: 'fail',
      code: 'QUOTA_DISK',
      params: { used: 'all of it (ENOSPC)', limit: '16 MB' },
    });
    expect(classifyExit({ ...base, starting: true, diskFull: true })).toMatchObject({ code: 'QUOTA_DISK' });
  });

  it('maps the rlimit signals to their quotas', () => {
    expect(classifyExit({ ...base, signal: 'SIGXCPU' })).toMatchObject({ kind: 'fail', code: 'QUOTA_CPU' });
    expect(classifyExit({ ...base, signal: 'SIGXFSZ' })).toMatchObject({ kind: 'fail', code: 'QUOTA_DISK' });
  });

  it('counts any other exit as a crash, saying how it ended', () => {
    expect(classifyExit({ ...base, signal: 'SIGSEGV' })).toEqual({
      kind: 'crash',
      how: 'exited with signal SIGSEGV',
    });
    expect(classifyExit({ ...base, hung: true, signal: 'SIGKILL' })).toEqual({
      kind: 'crash',
      how: 'stopped answering its health checks; killed',
    });
  });
});
