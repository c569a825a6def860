/**
 * Dev sessions and their reload history, from core's `GET /api/plugins/dev/sessions?tenant=`
 * (recorded by core where each reload's outcome is decided: packages/core/src/dev/dev-reload-history.ts).
 * One entry per plugin: its active session (holder, started, last seen) if it has one, and its
 * reloads newest first, each with the rollback code, stage, message and hint when it did not stay.
 */
import type { DevReloadEntry } from '@powerx/protocol';
import type { ApiClient } from '../api/api-client.ts';

export type DevReloadRow = DevReloadEntry;

export interface DevPluginActivity {
  pluginId: string;
  session?: {
    id: string;
    holder: string;
    client: string;
    startedAt: string;
    lastSeenAt: string;
    expiresAt: string;
  };
  reloads: DevReloadRow[];
}

export async function loadDevActivity(api: ApiClient, tenant: string): Promise<DevPluginActivity[]> {
  const list = await api.devSessions(tenant);
  return [
    ...list.sessions.map((s) => ({
      pluginId: s.pluginId,
      session: {
        id: s.id,
        holder: s.user,
        client: s.client,
        startedAt: s.startedAt,
        lastSeenAt: s.lastSeenAt,
        expiresAt: s.expiresAt,
      },
      reloads: s.reloads,
    })),
    ...list.recent.map((r) => ({ pluginId: r.pluginId, reloads: r.reloads })),
  ];
}
