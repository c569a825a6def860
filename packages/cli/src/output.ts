/**
 * Terminal output: colours only when the stream is a TTY and NO_COLOR is unset
 * (https://no-color.org), plus the small formatters every command shares.
 */
import type { WriteStream } from 'node:tty';

type Stream = NodeJS.WriteStream | WriteStream;

export function colorEnabled(stream: Stream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

export interface Style {
  ok(text: string): string;
  fail(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;

export function styleFor(stream: Stream): Style {
  if (!colorEnabled(stream)) {
    const plain = (text: string) => text;
    return { ok: plain, fail: plain, warn: plain, dim: plain, bold: plain };
  }
  return { ok: sgr(32, 39), fail: sgr(31, 39), warn: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

export const out = {
  get style(): Style {
    return styleFor(process.stdout);
  },
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  /** Machine output for --json: one JSON document, nothing else on stdout. */
  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Runs a step and returns its result with the wall time it took. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}
