import { describe, expect, it } from 'vitest';
import type { InstanceFailure } from '@powerx/runtime';
import { request, waitFor } from './helpers.ts';
import { assertNothingLeft, beside } from './hostile-setup.ts';

function failureOf(
  events: Array<{ type: string; instance: { id: string }; failure?: InstanceFailure }>,
  id: string,
): InstanceFailure | undefined {
  return events.find((e) => e.type === 'instance.failed' && e.instance.id === id)?.failure;
}

describe('plugins that abuse the RPC channel', () => {
  it('refuses RPC messages over the size cap, through the SDK and raw', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(await h.spec('rpc-oversized'));
      const result = (await request(info, '/attempt')).json();
      expect(result).toEqual({
        sdk: 'RPC_MESSAGE_TOO_LARGE',
        raw: 'RPC_MESSAGE_TOO_LARGE',
        stillWorks: 'yes',
      });
      const stored = h.host.docs('sandbox-a', info.pluginId, 'blobs');
      expect(stored).toHaveLength(1);
      expect(stored[0]).not.toHaveProperty('big');
    });
  });

  it("cannot reach another tenant's storage collections", async () => {
    await beside(async ({ h }) => {
      await h.host.storage.insert('victim', 'com.fixture.rpc-other-tenant', 'customers', {
        name: 'Victim Customer',
      });
      const callsBefore = h.host.calls.length;
      const info = await h.supervisor.start(await h.spec('rpc-other-tenant'));
      const result = (await request(info, '/attempt')).json();
      expect(result).toEqual({
        smuggledTenant: { ok: false, code: 'RPC_INVALID' },
        smuggledPlugin: { ok: false, code: 'RPC_INVALID' },
        traversal: 'RPC_INVALID',
        own: [],
      });
      const calls = h.host.calls.slice(callsBefore);
      expect(calls).toEqual([
        {
          op: 'find',
          tenant: 'sandbox-a',
          pluginId: 'com.fixture.rpc-other-tenant',
          collection: 'customers',
        },
      ]);
      expect(
        h.lines.filter((l) => l.instance === info.id && l.msg.startsWith('refused a message')).length,
      ).toBe(3);
    });
  });

  it('gets SECRET_NOT_DECLARED for a secret it did not declare, and the value never leaks', async () => {
    await beside(async ({ h }) => {
      const info = await h.supervisor.start(
        await h.spec('undeclared-secret', {
          secrets: { API_KEY: 'declared-value-1', OTHER_TENANT_KEY: 'not-yours-9c1' },
        }),
      );
      const result = (await request(info, '/attempt')).json<Record<string, unknown>>();
      expect(result.sdk).toBe('SECRET_NOT_DECLARED');
      expect(result.raw).toEqual({ ok: false, code: 'SECRET_NOT_DECLARED' });
      expect(result.declared).toBe(true);
      // PWD is bubblewrap's (/data, where it starts the plugin).
      expect([...(result.env as string[])].sort()).toEqual(['LANG', 'PWD', 'PX_INSTANCE', 'TZ']);
      const logged = JSON.stringify(h.lines);
      expect(logged).not.toContain('not-yours-9c1');
      expect(logged).not.toContain('declared-value-1');
      expect(h.lines.some((l) => l.instance === info.id && l.fields?.secret === 'OTHER_TENANT_KEY')).toBe(
        true,
      );
    });
  });

  // fd 3 is Node's IPC channel; the permission model does not check writes to a descriptor. Core
  // (this test process) must never parse what the plugin writes there: its IPC broker does.
  it('fails a plugin that writes a non-JSON line to its IPC channel with RPC_INVALID, and core stays up', async () => {
    await beside(async ({ h }) => {
      const rssBefore = process.memoryUsage().rss;
      const info = await h.supervisor.start(await h.spec('ipc-garbage'));
      await request(info, '/attempt').catch(() => undefined);
      const failure = await waitFor(() => failureOf(h.events, info.id), 'RPC_INVALID');
      expect(failure).toMatchObject({ code: 'RPC_INVALID' });
      expect(failure.message).toContain('not a JSON message');
      expect(h.supervisor.get(info.id)).toMatchObject({ state: 'failed', failure: { code: 'RPC_INVALID' } });
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
      await assertNothingLeft(h, info.pluginId);
    });
  });

  it('fails a plugin that floods its IPC channel with a line that never ends with RPC_MESSAGE_TOO_LARGE, without core buffering it', async () => {
    await beside(async ({ h }) => {
      const rssBefore = process.memoryUsage().rss;
      const info = await h.supervisor.start(await h.spec('ipc-flood'));
      // The broker kills the plugin mid-write: the request itself fails.
      await request(info, '/attempt').catch(() => undefined);
      const failure = await waitFor(() => failureOf(h.events, info.id), 'RPC_MESSAGE_TOO_LARGE');
      expect(failure).toMatchObject({ code: 'RPC_MESSAGE_TOO_LARGE' });
      expect(h.supervisor.get(info.id)?.state).toBe('failed');
      expect(h.lines.some((l) => l.instance === info.id && l.msg.startsWith('IPC channel violation'))).toBe(
        true,
      );
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
      await assertNothingLeft(h, info.pluginId);
    });
  });
});
