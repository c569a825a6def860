import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginRuntimeError } from '@powerx/runtime';
import { waitFor } from './helpers.ts';
import { assertNothingLeft, beside } from './hostile-setup.ts';

describe('plugins that fail to start or keep crashing', () => {
  it('rejects a plugin that crashes on start with START_FAILED and leaves nothing behind', async () => {
    await beside(async ({ h }) => {
      const error = await h.supervisor.start(await h.spec('crash-on-start')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PluginRuntimeError);
      expect(error).toMatchObject({ code: 'START_FAILED' });
      expect((error as Error).message).toContain('boom while loading the plugin');
      expect(h.supervisor.list().map((i) => i.pluginId)).toEqual(['com.fixture.neighbour']);
      expect(await readdir(join(h.root, 'run', 'i'))).toHaveLength(1);
      await assertNothingLeft(h, 'com.fixture.crash-on-start');
    });
  });

  it('fails a crash loop with CRASH_LOOP once the restart budget is spent', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('crash-loop'));
      expect(info.state).toBe('ready');
      const failed = await waitFor(
        () => h.events.find((e) => e.type === 'instance.failed' && e.instance.id === info.id),
        'CRASH_LOOP',
        30_000,
      );
      expect(failed.type === 'instance.failed' && failed.failure).toMatchObject({
        code: 'CRASH_LOOP',
        message: 'The plugin crashed 3 times in 60 s',
      });
      const final = h.supervisor.get(info.id)!;
      expect(final.state).toBe('failed');
      expect(final.restarts).toBe(2);
      // Between crashes it went back through starting and the health gate.
      const states = h.events
        .filter((e) => e.type === 'instance.state' && e.instance.id === info.id)
        .map((e) => e.instance.state);
      expect(states.filter((s) => s === 'ready').length).toBeGreaterThanOrEqual(2);
      await waitFor(
        () => final.pid === undefined && h.supervisor.get(info.id)!.pid === undefined,
        'no process',
      );
      await assertNothingLeft(h, info.pluginId);
    });
  });

  it('restarts a plugin that hangs without using CPU once it stops answering its health checks', async () => {
    await beside(
      async ({ h }) => {
        const info = await h.supervisor.start(await h.spec('hangs'));
        const crash = await waitFor(
          () =>
            h.lines.find(
              (l) =>
                l.instance === info.id && l.msg.startsWith('crashed (stopped answering its health checks'),
            ),
          'the hang to be noticed',
        );
        expect(crash.level).toBe('warn');
        await waitFor(
          () => h.supervisor.get(info.id)?.restarts === 1 && h.supervisor.get(info.id)?.state === 'ready',
          'the restart',
        );
      },
      { livenessEvery: 1 },
    );
  });

  it('rejects a plugin that never becomes healthy with HEALTH_TIMEOUT and leaves nothing behind', async () => {
    await beside(async ({ h }) => {
      const error = await h.supervisor.start(await h.spec('never-healthy')).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'HEALTH_TIMEOUT',
        message: 'The plugin did not answer /healthz within 3000 ms',
      });
      expect(h.supervisor.list()).toHaveLength(1);
      // Killing it after the failed gate is not a crash: no restart is scheduled.
      expect(
        h.lines.some((l) => l.plugin === 'com.fixture.never-healthy' && l.msg.startsWith('crashed')),
      ).toBe(false);
      await assertNothingLeft(h, 'com.fixture.never-healthy');
    });
  });

  it('kills a plugin that ignores SIGTERM with SIGKILL once the stop grace is over', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('ignores-sigterm'));
      await h.supervisor.stop(info.id, { graceMs: 300, reason: 'test' });
      expect(h.supervisor.get(info.id)).toBeUndefined();
      expect(
        h.lines.some(
          (l) =>
            l.instance === info.id &&
            l.level === 'warn' &&
            l.msg === 'did not exit within 300 ms of SIGTERM; sending SIGKILL',
        ),
      ).toBe(true);
      await assertNothingLeft(h, info.pluginId);
    });
  });
});
