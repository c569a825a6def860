import { describe, expect, it } from 'vitest';
import { decideAfterCrash } from './restart-budget.ts';

const budget = { crashes: 3, windowMs: 60_000 };

describe('restart budget', () => {
  it('restarts after a first crash with the first delay', () => {
    expect(decideAfterCrash([], 1000, budget, 500)).toEqual({
      action: 'restart',
      crashes: [1000],
      delayMs: 500,
    });
  });

  it('doubles the delay per crash in the window', () => {
    expect(decideAfterCrash([1000], 2000, budget, 500)).toMatchObject({ action: 'restart', delayMs: 1000 });
  });

  it('gives up when the budget is spent within the window', () => {
    expect(decideAfterCrash([1000, 2000], 3000, budget, 500)).toEqual({
      action: 'give-up',
      crashes: [1000, 2000, 3000],
    });
  });

  it('forgets crashes older than the window', () => {
    expect(decideAfterCrash([1000, 2000], 70_000, budget, 500)).toEqual({
      action: 'restart',
      crashes: [70_000],
      delayMs: 500,
    });
  });

  it('never waits longer than ten seconds', () => {
    const many = { crashes: 100, windowMs: 1e9 };
    const previous = Array.from({ length: 20 }, (_, i) => i);
    expect(decideAfterCrash(previous, 100, many, 500)).toMatchObject({ delayMs: 10_000 });
  });
});
