/**
 * Follows one install's stages live over core's WebSocket `/api/ws`, channel
 * `plugin.install.progress` (the feed of the Admin's install progress): the snapshot first, then
 * each stage change as core records it — on any node of a cluster. Node's built-in WebSocket.
 *
 * Resolves `done` once `onProgress` says the install settled, or `unavailable` when the channel
 * cannot be used (an older core, a proxy without WebSocket, a dropped connection): the caller then
 * polls the REST install, which never misses a stage either (it has the whole timeline).
 */
import {
  PROGRESS_CHANNEL,
  type InstallProgress,
  type WsClientFrame,
  type WsServerFrame,
} from '@powerx/protocol';
import { wsUrl } from './log-stream.ts';

/** Without a snapshot by then, the channel is taken as unavailable. */
const SUBSCRIBE_TIMEOUT_MS = 5_000;

export function followInstallProgress(opts: {
  url: string;
  token: string;
  tenant: string;
  installId: string;
  /** Returns true once the install settled (nothing more to wait for). */
  onProgress(progress: InstallProgress): boolean;
  /** Aborted: the caller learnt by other means that the install settled. */
  signal?: AbortSignal;
}): Promise<'done' | 'unavailable'> {
  return new Promise((resolve) => {
    let finished = false;
    let ws: WebSocket;
    const finish = (result: 'done' | 'unavailable') => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        ws.close(1000, 'bye');
      } catch {
        // not open yet
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish('unavailable'), SUBSCRIBE_TIMEOUT_MS);
    opts.signal?.addEventListener('abort', () => finish('done'), { once: true });
    try {
      ws = new WebSocket(wsUrl(opts.url));
    } catch {
      return finish('unavailable');
    }
    const send = (frame: WsClientFrame) => ws.send(JSON.stringify(frame));
    ws.onopen = () => {
      send({ type: 'auth', token: opts.token });
      send({ type: 'subscribe', channel: PROGRESS_CHANNEL, tenant: opts.tenant, installId: opts.installId });
    };
    ws.onmessage = (message) => {
      let frame: WsServerFrame;
      try {
        frame = JSON.parse(String(message.data)) as WsServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'error' || frame.type === 'dropped') return finish('unavailable');
      const updates =
        frame.type === 'progress_snapshot'
          ? frame.installs
          : frame.type === 'progress'
            ? [frame.progress]
            : [];
      if (frame.type === 'progress_snapshot') clearTimeout(timer);
      for (const progress of updates)
        if (progress.installId === opts.installId && opts.onProgress(progress)) return finish('done');
    };
    ws.onclose = () => finish('unavailable');
    ws.onerror = () => {};
  });
}
