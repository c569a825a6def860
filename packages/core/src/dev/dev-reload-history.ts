/**
 * The reload history of dev plugins, for `GET /api/plugins/dev/sessions` (the Admin's dev
 * sessions page): per (tenant, plugin) the last MAX_PER_PLUGIN reloads with time, duration,
 * result and, for one that did not stay, the rollback code, stage, message and hint.
 *
 * Recorded by dev-service.ts where each outcome is decided (switch, failure before the switch,
 * crash in the grace window, build error reported by the CLI). A reload that switched and then
 * crashed in its grace window is the same entry, updated to `rolled_back`.
 *
 * Saved to <dataDir>/dev-reloads.json (like dev-sessions.json), so a core restart during a
 * session keeps the history the developer is looking at. The audit log stays the full record.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DevReloadEntry } from '@powerx/protocol';

const MAX_PER_PLUGIN = 50;

export class DevReloadHistory {
  readonly #file: string;
  /** `${tenant}\0${plugin}` → entries, newest first. */
  readonly #byPlugin = new Map<string, DevReloadEntry[]>();
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.#file = file;
  }

  async load(): Promise<void> {
    const text = await readFile(this.#file, 'utf8').catch(() => undefined);
    if (!text) return;
    try {
      for (const [key, entries] of Object.entries(JSON.parse(text) as Record<string, DevReloadEntry[]>))
        this.#byPlugin.set(key, entries.slice(0, MAX_PER_PLUGIN));
    } catch {
      // a torn file from a crash: the history starts again (the audit log has everything)
    }
  }

  /** Adds the reload, or updates the entry with the same id (a crash after the switch). */
  record(tenant: string, pluginId: string, entry: DevReloadEntry): void {
    const k = key(tenant, pluginId);
    const list = this.#byPlugin.get(k) ?? [];
    const at = list.findIndex((e) => e.id === entry.id);
    if (at >= 0) list[at] = { ...list[at], ...entry, at: list[at].at };
    else list.unshift(entry);
    list.length = Math.min(list.length, MAX_PER_PLUGIN);
    this.#byPlugin.set(k, list);
    void this.#persist();
  }

  list(tenant: string, pluginId: string): DevReloadEntry[] {
    return [...(this.#byPlugin.get(key(tenant, pluginId)) ?? [])];
  }

  /** Plugins of the tenant that have a history, newest reload first. */
  pluginsOf(tenant: string): string[] {
    const prefix = `${tenant}\0`;
    return [...this.#byPlugin.entries()]
      .filter(([k, list]) => k.startsWith(prefix) && list.length)
      .sort((a, b) => b[1][0].at.localeCompare(a[1][0].at))
      .map(([k]) => k.slice(prefix.length));
  }

  stop(): Promise<void> {
    return this.#writing;
  }

  #persist(): Promise<void> {
    const snapshot = JSON.stringify(Object.fromEntries(this.#byPlugin));
    this.#writing = this.#writing
      .then(async () => {
        const tmp = `${this.#file}.tmp`;
        await writeFile(tmp, snapshot, { mode: 0o600 });
        await rename(tmp, this.#file);
      })
      .catch(() => {});
    return this.#writing;
  }
}

function key(tenant: string, pluginId: string): string {
  return `${tenant}\0${pluginId}`;
}
