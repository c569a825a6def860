/**
 * Dev sessions and their reload history, read from the audit log (the same record the CLI and
 * core write): `plugin.dev.session.open|end|expired` give the sessions, `plugin.dev.reload` (ok)
 * and `plugin.dev.rollback` (failed, with code and stage) the reloads. Core has no REST list of
 * sessions; the audit is the one place that has both, and it is what an operator reads anyway.
 */
import type { AuditEntry } from '@powerx/protocol';
import type { ApiClient } from '../api/api-client.ts';

export interface DevReloadRow {
  at: string;
  version?: string;
  durationMs?: number;
  result: 'running' | 'rolled_back';
  code?: string;
  stage?: string;
  serving?: string;
}

export interface DevPluginActivity {
  pluginId: string;
  session?: { id: string; holder: string; client?: string; openedAt: string; state: 'active' | 'ended' | 'expired' };
  reloads: DevReloadRow[];
}

const MAX_ENTRIES = 2000;

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export async function loadDevActivity(api: ApiClient, tenant: string): Promise<DevPluginActivity[]> {
  const entries: AuditEntry[] = [];
  let before: number | undefined;
  while (entries.length < MAX_ENTRIES) {
    const page = await api.audit({ tenant, action: 'plugin.dev.*', limit: 500, ...(before ? { before } : {}) });
    entries.push(...page.entries);
    if (!page.nextBefore || !page.entries.length) break;
    before = page.nextBefore;
  }
  const byPlugin = new Map<string, DevPluginActivity>();
  const get = (pluginId: string) => {
    let a = byPlugin.get(pluginId);
    if (!a) byPlugin.set(pluginId, (a = { pluginId, reloads: [] }));
    return a;
  };
  // Oldest first, so the last session event of a plugin decides its state.
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
    if (!e.target || e.outcome === 'denied') continue;
    const d = e.details ?? {};
    switch (e.action) {
      case 'plugin.dev.session.open':
        get(e.target).session = { id: str(d.session) ?? '', holder: e.actor, client: str(d.client), openedAt: e.ts, state: 'active' };
        break;
      case 'plugin.dev.session.end':
      case 'plugin.dev.session.expired': {
        const s = get(e.target).session;
        if (s && (!str(d.session) || s.id === d.session)) s.state = e.action.endsWith('expired') ? 'expired' : 'ended';
        break;
      }
      case 'plugin.dev.reload':
        get(e.target).reloads.push({ at: e.ts, version: str(d.version), durationMs: typeof d.durationMs === 'number' ? d.durationMs : undefined, result: 'running' });
        break;
      case 'plugin.dev.rollback': {
        const serving = d.serving as { version?: string } | null | undefined;
        get(e.target).reloads.push({ at: e.ts, version: str(d.version), result: 'rolled_back', code: str(d.code), stage: str(d.stage) ?? undefined, serving: serving?.version });
        break;
      }
    }
  }
  for (const a of byPlugin.values()) a.reloads.reverse(); // newest first on screen
  return [...byPlugin.values()].filter((a) => a.session || a.reloads.length).sort((a, b) => (b.reloads[0]?.at ?? b.session?.openedAt ?? '').localeCompare(a.reloads[0]?.at ?? a.session?.openedAt ?? ''));
}
