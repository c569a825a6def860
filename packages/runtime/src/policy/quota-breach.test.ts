import { describe, expect, it } from 'vitest';
import { checkDisk, checkMemoryAndCpu, maxFilesFor } from './quota-breach.ts';

const limits = { memoryMb: 64, cpuPercent: 50, diskMb: 16, maxFiles: 4096 };
const sample = {
  privateMb: 10,
  cpuPercent: 10,
  throttled: false,
  cpuOverBefore: 0,
  breachSamples: 3,
  limits,
};

describe('quota breach', () => {
  it('breaches memory on private memory over the limit', () => {
    expect(checkMemoryAndCpu({ ...sample, privateMb: 65 }).breach).toEqual({
      code: 'QUOTA_MEMORY',
      params: { usedMb: 65, limitMb: 64 },
    });
  });

  it('calls a node plugin that burns its CPU collecting garbage at its heap limit a memory breach', () => {
    const atHeapLimit = { ...sample, privateMb: 40, cpuPercent: 100, cpuOverBefore: 2, heapLimitMb: 32 };
    expect(checkMemoryAndCpu(atHeapLimit).breach).toEqual({
      code: 'QUOTA_MEMORY',
      params: { usedMb: 40, limitMb: 64 },
    });
    expect(checkMemoryAndCpu({ ...atHeapLimit, privateMb: 20 }).breach?.code).toBe('QUOTA_CPU');
    expect(checkMemoryAndCpu({ ...atHeapLimit, heapLimitMb: undefined }).breach?.code).toBe('QUOTA_CPU');
  });

  it('counts CPU samples over the share and breaches after enough in a row', () => {
    expect(checkMemoryAndCpu({ ...sample, cpuPercent: 80 })).toEqual({ cpuOver: 1 });
    expect(checkMemoryAndCpu({ ...sample, cpuPercent: 80, cpuOverBefore: 2 }).breach?.code).toBe('QUOTA_CPU');
  });

  it('treats a throttled sample as over the share even when the measured share is at the limit', () => {
    expect(
      checkMemoryAndCpu({ ...sample, cpuPercent: 50, throttled: true, cpuOverBefore: 2 }).breach,
    ).toEqual({
      code: 'QUOTA_CPU',
      params: { percent: 50, limitPercent: 50 },
    });
  });

  it('resets the CPU count on a sample under the share', () => {
    expect(checkMemoryAndCpu({ ...sample, cpuPercent: 10, cpuOverBefore: 2 })).toEqual({ cpuOver: 0 });
  });

  it('does not judge CPU without a previous sample', () => {
    expect(checkMemoryAndCpu({ ...sample, cpuPercent: undefined, cpuOverBefore: 2 })).toEqual({ cpuOver: 2 });
  });

  it('breaches disk on allocated bytes or on the file count', () => {
    expect(checkDisk(17 * 2 ** 20, 3, limits)?.code).toBe('QUOTA_DISK');
    expect(checkDisk(1 * 2 ** 20, 4097, limits)?.params).toEqual({ used: '4097 files', limit: '4096 files' });
    expect(checkDisk(15 * 2 ** 20, 4096, limits)).toBeUndefined();
  });

  it('derives the file-count limit from the disk quota', () => {
    expect(maxFilesFor(16)).toBe(4096);
    expect(maxFilesFor(1)).toBe(1024);
  });
});
