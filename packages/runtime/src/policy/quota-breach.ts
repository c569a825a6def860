/**
 * Quota rules over one resource sample. Pure: the sampler reads /proc and the cgroup, this decides.
 */
import type { ErrorCode } from '@powerx/protocol';

export interface QuotaLimits {
  memoryMb: number;
  cpuPercent: number;
  diskMb: number;
  /** Files and folders the data folder may hold (sampled disk accounting only). */
  maxFiles: number;
}

export interface Breach {
  code: ErrorCode;
  params: Record<string, unknown>;
}

/**
 * Memory: private resident memory (not the Node binary pages every instance shares).
 * CPU: over the share, or throttled by the kernel, for `breachSamples` samples in a row — a
 * plugin the CPU controller keeps throttling wants more than its share all the time. A node
 * plugin whose heap sits at its V8 limit spends that CPU collecting garbage it cannot free: that
 * breach is its memory, and is reported as QUOTA_MEMORY so the hint points at memoryMb.
 */
export function checkMemoryAndCpu(input: {
  privateMb: number;
  cpuPercent: number | undefined;
  throttled: boolean;
  cpuOverBefore: number;
  breachSamples: number;
  limits: QuotaLimits;
  /** node plugins: the V8 heap limit the process was started with (--max-old-space-size). */
  heapLimitMb?: number;
}): { breach?: Breach; cpuOver: number } {
  const { limits } = input;
  if (input.privateMb > limits.memoryMb)
    return {
      breach: {
        code: 'QUOTA_MEMORY',
        params: { usedMb: Math.round(input.privateMb), limitMb: limits.memoryMb },
      },
      cpuOver: input.cpuOverBefore,
    };
  if (input.cpuPercent === undefined) return { cpuOver: input.cpuOverBefore };
  const over = input.cpuPercent > limits.cpuPercent || input.throttled;
  const cpuOver = over ? input.cpuOverBefore + 1 : 0;
  if (
    cpuOver >= input.breachSamples &&
    input.heapLimitMb !== undefined &&
    input.privateMb >= input.heapLimitMb
  )
    return {
      breach: {
        code: 'QUOTA_MEMORY',
        params: { usedMb: Math.round(input.privateMb), limitMb: limits.memoryMb },
      },
      cpuOver,
    };
  if (cpuOver >= input.breachSamples)
    return {
      breach: {
        code: 'QUOTA_CPU',
        params: {
          percent: Math.round(Math.max(input.cpuPercent, limits.cpuPercent)),
          limitPercent: limits.cpuPercent,
        },
      },
      cpuOver,
    };
  return { cpuOver };
}

/** Disk: allocated bytes over diskMb, or more entries than the file-count limit. */
export function checkDisk(usedBytes: number, entries: number, limits: QuotaLimits): Breach | undefined {
  const usedMb = usedBytes / 2 ** 20;
  if (usedMb > limits.diskMb)
    return { code: 'QUOTA_DISK', params: { used: `${Math.round(usedMb)} MB`, limit: `${limits.diskMb} MB` } };
  if (entries > limits.maxFiles)
    return { code: 'QUOTA_DISK', params: { used: `${entries} files`, limit: `${limits.maxFiles} files` } };
  return undefined;
}

/** The file-count limit derived from diskMb: one entry per 4 KiB block, as ext4 gives by default. */
export function maxFilesFor(diskMb: number): number {
  return Math.max(1024, diskMb * 256);
}
