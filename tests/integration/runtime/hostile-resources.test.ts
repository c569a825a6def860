import { describe, expect, it } from 'vitest';
import { PluginRuntimeError, type InstanceFailure } from '@powerx/runtime';
import { request, waitFor, type Harness } from './helpers.ts';
import { assertNothingLeft, beside } from './hostile-setup.ts';

function failureOf(
  events: Array<{ type: string; instance: { id: string }; failure?: InstanceFailure }>,
  id: string,
): InstanceFailure | undefined {
  return events.find((e) => e.type === 'instance.failed' && e.instance.id === id)?.failure;
}

/**
 * Starts a plugin that abuses a resource from its first line, until the runtime stops it. The
 * verdict comes after the start, or — on a loaded machine, slow to pass the health check while
 * the abuse already runs — during it, as the start's own failure. Both are the runtime working.
 */
async function startUntilStopped(
  h: Harness,
  fixture: string,
): Promise<{ failure: { code: string; message: string; hint: string }; pluginId: string }> {
  const spec = await h.spec(fixture);
  const started = await h.supervisor.start(spec).catch((error: unknown) => {
    if (error instanceof PluginRuntimeError) return error;
    throw error;
  });
  if (started instanceof PluginRuntimeError) return { failure: started, pluginId: spec.pluginId };
  const failure = await waitFor(() => failureOf(h.events, started.id), `${fixture} to be stopped`);
  await waitFor(() => h.supervisor.get(started.id)?.pid === undefined, 'the process to be gone');
  expect(h.supervisor.get(started.id)).toMatchObject({ state: 'failed', failure: { code: failure.code } });
  return { failure, pluginId: spec.pluginId };
}

describe('plugins that abuse resources', () => {
  it('stops a busy loop with QUOTA_CPU', async () => {
    await beside(async ({ h }) => {
      const { failure, pluginId } = await startUntilStopped(h, 'busy-loop');
      expect(failure.code).toBe('QUOTA_CPU');
      expect(failure.message).toMatch(/limit is 10%/);
      await assertNothingLeft(h, pluginId);
    });
  });

  it('stops a heap bomb with QUOTA_MEMORY', async () => {
    await beside(async ({ h }) => {
      const { failure, pluginId } = await startUntilStopped(h, 'heap-bomb');
      expect(failure.code).toBe('QUOTA_MEMORY');
      expect(failure.hint).toMatch(/memoryMb/);
      await assertNothingLeft(h, pluginId);
    });
  });

  it('stops an off-heap Buffer bomb with QUOTA_MEMORY', async () => {
    await beside(async ({ h }) => {
      const { failure, pluginId } = await startUntilStopped(h, 'buffer-bomb');
      expect(failure.code).toBe('QUOTA_MEMORY');
      await assertNothingLeft(h, pluginId);
    });
  });

  it('stops a plugin that fills its data folder with QUOTA_DISK', async () => {
    await beside(async ({ h }) => {
      const { failure, pluginId } = await startUntilStopped(h, 'disk-hog');
      expect(failure.code).toBe('QUOTA_DISK');
      expect(failure.message).toMatch(/limit is 4 MB/);
      await assertNothingLeft(h, pluginId);
    });
  });

  it('cuts a stdout flood and counts what it dropped', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('stdout-flood'));
      const started = Date.now();
      const report = await waitFor(
        () =>
          h.lines.find(
            (l) => l.instance === info.id && l.source === 'runtime' && l.msg.startsWith('log flood'),
          ),
        'the flood report',
      );
      expect(report.fields?.dropped).toBeGreaterThan(0);
      const kept = h.lines.filter((l) => l.instance === info.id && l.source === 'stdout').length;
      const seconds = (Date.now() - started) / 1000 + 1;
      // Burst 1000 plus 200 lines/s: the sink never gets the whole flood.
      expect(kept).toBeLessThanOrEqual(1000 + Math.ceil(seconds * 200) + 200);
      expect(h.supervisor.get(info.id)!.logsDropped).toBeGreaterThan(0);
      // The flooding plugin itself is throttled, not killed.
      expect((await request({ socketPath: info.socketPath }, '/healthz')).status).toBe(200);
      await h.supervisor.stop(info.id, { graceMs: 1000 });
      await assertNothingLeft(h, info.pluginId);
    });
  });

  it('reports resource usage while running', async () => {
    await beside(async ({ h, neighbour }) => {
      // The usage event is sent at the end of a sample, after the disk is measured: wait for it.
      await waitFor(
        () => h.events.find((e) => e.type === 'instance.usage' && e.instance.id === neighbour.id),
        'a usage event',
      );
      const usage = h.supervisor.usage(neighbour.id);
      expect(usage.rssMb).toBeGreaterThan(10);
      expect(usage.cpuPercent).toBeGreaterThanOrEqual(0);
    });
  });
});
