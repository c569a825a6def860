/* eslint-disable @typescript-eslint/no-explicit-any -- frames of the API under test are checked by assertions, not types */
import WebSocket from 'ws';
import type { TestCore } from './core-kit.ts';
import { until } from './until.ts';

/** A WebSocket client of /api/ws that records every frame. */
export class WsClient {
  readonly ws: WebSocket;
  readonly frames: any[] = [];
  closeCode: number | undefined;
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;

  constructor(core: TestCore, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(core.url.replace('http', 'ws') + '/api/ws', { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code) => ((this.closeCode = code), resolve())),
    );
    this.ws.on('message', (data) => this.frames.push(JSON.parse(String(data))));
    this.ws.on('error', () => {});
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  lines(): any[] {
    return this.frames.filter((f) => f.type === 'log').flatMap((f) => f.lines);
  }

  waitFor(pred: (frame: any) => boolean, what: string, timeoutMs = 15_000): Promise<any> {
    return until(() => this.frames.find(pred), {
      ok: (f) => f !== undefined,
      message: what,
      timeoutMs: timeoutMs,
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
