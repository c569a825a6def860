/**
 * The CLI's side of a dev session: opens it (core refuses with the holder's name when someone
 * else has the plugin), keeps it alive with heartbeats every ttl/3, re-opens it when core lost
 * it (restarted without it, or it expired while the laptop slept), and ends it on Ctrl-C.
 */
import { hostname } from 'node:os';
import { isPxError, type DevSession } from '@powerx/protocol';
import type { ApiClient } from '../api-client.ts';

export class DevSessionClient {
  readonly #api: ApiClient;
  readonly #tenant: string;
  readonly #pluginId: string;
  #session: DevSession | undefined;
  #timer: NodeJS.Timeout | undefined;
  onRenewed?: (session: DevSession) => void;
  onTrouble?: (message: string) => void;

  constructor(api: ApiClient, tenant: string, pluginId: string) {
    this.#api = api;
    this.#tenant = tenant;
    this.#pluginId = pluginId;
  }

  get id(): string {
    return this.#session!.id;
  }

  async open(): Promise<DevSession> {
    this.#session = await this.#api.post<DevSession>('/api/plugins/dev/sessions', {
      tenant: this.#tenant,
      pluginId: this.#pluginId,
      client: `px-plugin dev on ${hostname()} (pid ${process.pid})`,
    });
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.#beat(), Math.max(200, Math.floor(this.#session.ttlMs / 3)));
    this.#timer.unref();
    return this.#session;
  }

  async #beat(): Promise<void> {
    if (!this.#session) return;
    try {
      this.#session = await this.#api.post<DevSession>(
        `/api/plugins/dev/sessions/${encodeURIComponent(this.#session.id)}/heartbeat`,
      );
    } catch (error) {
      if (isPxError(error) && error.code === 'DEV_SESSION_NOT_FOUND') {
        try {
          const renewed = await this.open();
          this.onRenewed?.(renewed);
        } catch (e) {
          this.onTrouble?.((e as Error).message);
        }
      } else this.onTrouble?.((error as Error).message);
    }
  }

  async reportBuildError(message: string): Promise<void> {
    if (!this.#session) return;
    await this.#api
      .post(`/api/plugins/dev/sessions/${encodeURIComponent(this.#session.id)}/build-error`, { message })
      .catch(() => {});
  }

  async end(opts: { keep: boolean }): Promise<{ uninstalled: boolean } | undefined> {
    clearInterval(this.#timer);
    if (!this.#session) return undefined;
    const id = this.#session.id;
    this.#session = undefined;
    return this.#api.delete<{ uninstalled: boolean }>(
      `/api/plugins/dev/sessions/${encodeURIComponent(id)}${opts.keep ? '?keep=true' : ''}`,
    );
  }
}
