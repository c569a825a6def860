/**
 * Hands a good build to core. Path mode (core reads `.px-dev/build` itself: nothing travels)
 * when core shares the filesystem — assumed for a loopback URL, and confirmed by core accepting
 * the path; otherwise, or when core says it cannot read the path, the build is packed
 * (unsigned .pxp, deterministic) and uploaded.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory } from '@powerx/package-format';
import { isPxError, type DevReload } from '@powerx/protocol';
import type { ApiClient } from '../api-client.ts';

export type PushMode = 'auto' | 'path' | 'upload';

const PATH_UNUSABLE = new Set(['PATH_NOT_ALLOWED', 'DEV_BUILD_NOT_FOUND']);

export class Pusher {
  readonly #api: ApiClient;
  readonly #tenant: string;
  #sessionId: string;
  #mode: 'path' | 'upload';
  readonly #fixed: boolean;

  constructor(api: ApiClient, opts: { tenant: string; sessionId: string; mode: PushMode }) {
    this.#api = api;
    this.#tenant = opts.tenant;
    this.#sessionId = opts.sessionId;
    this.#fixed = opts.mode !== 'auto';
    this.#mode = opts.mode === 'auto' ? (isLoopback(api.url) ? 'path' : 'upload') : opts.mode;
  }

  get mode(): 'path' | 'upload' {
    return this.#mode;
  }

  set sessionId(id: string) {
    this.#sessionId = id;
  }

  async push(buildDir: string): Promise<DevReload & { mode: 'path' | 'upload' }> {
    if (this.#mode === 'path') {
      try {
        const reload = await this.#api.post<DevReload>('/api/plugins/dev/install', {
          tenant: this.#tenant,
          path: buildDir,
          sessionId: this.#sessionId,
        });
        return { ...reload, mode: 'path' };
      } catch (error) {
        if (this.#fixed || !isPxError(error) || !PATH_UNUSABLE.has(error.code)) throw error;
        this.#mode = 'upload'; // core cannot read our folder: it runs elsewhere
      }
    }
    const pxp = join(buildDir, '..', `upload-${process.pid}.pxp`);
    try {
      await packDirectory(buildDir, pxp);
      const reload = await this.#api.uploadPackage<DevReload>('/api/plugins/dev/install', pxp, {
        tenant: this.#tenant,
        sessionId: this.#sessionId,
      });
      return { ...reload, mode: 'upload' };
    } finally {
      await rm(pxp, { force: true });
    }
  }
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
