import { describe, expect, it } from 'vitest';
import { Turns } from './turns.ts';

describe('Turns', () => {
  it('runs at most `limit` tasks at once, the others in arrival order', async () => {
    const turns = new Turns(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve));
      order.push(i);
      running--;
      return i;
    };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => turns.run(task(i))));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('lets I/O callbacks run between two queued tasks, and a failing task passes its turn on', async () => {
    const turns = new Turns(1);
    const events: string[] = [];
    const first = turns.run(async () => {
      setImmediate(() => events.push('io'));
      events.push('first');
      throw new Error('boom');
    });
    const second = turns.run(async () => void events.push('second'));
    await expect(first).rejects.toThrow('boom');
    await second;
    expect(events).toEqual(['first', 'io', 'second']);
  });
});
