import { describe, expect, it } from 'vitest';
import { harness } from './helpers.ts';

describe('the phases of a start', () => {
  it('reports starting, health_check and ready through onPhase, each before its state event', async () => {
    const order: string[] = [];
    const h = await harness({
      onEvent: (e) => e.type === 'instance.state' && order.push(`event:${e.instance.state}`),
    });
    try {
      const info = await h.supervisor.start(await h.spec('neighbour'), {
        onPhase: (phase, instance) => order.push(`phase:${phase}:${instance.state}`),
      });
      expect(info.state).toBe('ready');
      expect(order).toEqual([
        'phase:starting:starting',
        'event:starting',
        'phase:health_check:health_check',
        'event:health_check',
        'phase:ready:ready',
        'event:ready',
      ]);
    } finally {
      await h.close();
    }
  });

  it('reports failed through onPhase before start rejects, and nothing after', async () => {
    const phases: string[] = [];
    const h = await harness();
    try {
      await expect(
        h.supervisor.start(await h.spec('crash-on-start'), { onPhase: (phase) => phases.push(phase) }),
      ).rejects.toMatchObject({ code: 'START_FAILED' });
      expect(phases[0]).toBe('starting');
      expect(phases[phases.length - 1]).toBe('failed');
      expect(phases).not.toContain('ready');
    } finally {
      await h.close();
    }
  });
});
