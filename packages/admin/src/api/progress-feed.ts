/**
 * Live progress of one install over the WebSocket channel `plugin.install.progress` of `/api/ws`
 * (frames: protocol install-progress-schemas.ts): the snapshot, then each stage change as core
 * records it, on whichever node ran it. When the channel cannot be used (a core without it, the
 * socket refused or closed) `onUnavailable` tells the caller to poll the install instead.
 */
import type { InstallProgress, WsClientFrame, WsServerFrame } from '@powerx/protocol';
import type { ApiClient } from './api-client.ts';

/** Restated because the Admin imports protocol for types only; the compiler checks the literal. */
export const PROGRESS_CHANNEL = 'plugin.install.progress' satisfies Extract<
  WsClientFrame,
  { type: 'subscribe' }
>['channel'];

export interface ProgressFeedEvents {
  onProgress(progress: InstallProgress): void;
  /** The snapshot arrived: from now on every stage change comes live. */
  onLive(): void;
  onUnavailable(reason: string): void;
}

/** Opens the feed; returns the function that closes it. */
export function followInstallProgress(
  api: ApiClient,
  tenant: string,
  installId: string,
  events: ProgressFeedEvents,
): () => void {
  let done = false;
  const url = new URL('/api/ws', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  let socket: WebSocket;
  const giveUp = (reason: string) => {
    if (done) return;
    done = true;
    socket.close(1000, 'polling instead');
    events.onUnavailable(reason);
  };
  try {
    socket = new WebSocket(url);
  } catch {
    queueMicrotask(() => events.onUnavailable('no WebSocket'));
    return () => {};
  }
  const send = (frame: WsClientFrame) => socket.send(JSON.stringify(frame));
  socket.onopen = () => {
    // Browsers cannot set headers on a WebSocket: the token goes in the first frame, never in the URL.
    if (api.token) send({ type: 'auth', token: api.token });
    send({ type: 'subscribe', channel: PROGRESS_CHANNEL, tenant, installId });
  };
  socket.onmessage = (message) => {
    let frame: WsServerFrame;
    try {
      frame = JSON.parse(String(message.data)) as WsServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'progress_snapshot') {
      events.onLive();
      for (const progress of frame.installs) events.onProgress(progress);
    } else if (frame.type === 'progress' && frame.progress.installId === installId) {
      events.onProgress(frame.progress);
    } else if (frame.type === 'error' || frame.type === 'dropped') {
      giveUp(frame.type === 'error' ? `${frame.code}: ${frame.message}` : frame.reason);
    }
  };
  socket.onclose = () => giveUp('connection closed');
  socket.onerror = () => {};
  return () => {
    done = true;
    socket.close(1000, 'progress closed');
  };
}
