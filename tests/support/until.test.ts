import { describe, expect, it } from 'vitest';
import { until } from './until.ts';

describe('until', () => {
  it('returns the first value the check accepts', async () => {
    let n = 0;
    expect(await until(() => ++n, { ok: (v) => v >= 3, message: 'three', intervalMs: 1 })).toBe(3);
  });

  it('fails at its deadline, naming what it waited for and the last value', async () => {
    await expect(
      until(() => 'nope', { ok: (v) => v === 'yes', message: 'a yes', timeoutMs: 30, intervalMs: 5 }),
    ).rejects.toThrow(/timed out after 30 ms waiting for a yes; last: "nope"/);
  });
});
