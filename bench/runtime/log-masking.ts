/**
 * What masking the plugin's secrets costs per log line: the same lines (plain stdout lines and
 * pino-style JSON lines with fields) through LogCapture with no secret (the floor) and with three.
 * The flood limit is lifted so that every line reaches the sink.
 */
import { PassThrough } from 'node:stream';
import { LogCapture } from '@powerx/runtime';
import type { BenchContext, BenchResult } from '../run.ts';
import { median, withinFloor } from './figures.ts';

const LINES = 50_000;
const SECRETS = ['sk-live-4f9a0c2e8b7d', 'postgres://app:hunter2@db/app', 'x-api-key-00000000'];

async function microsPerLine(secrets: string[]): Promise<number> {
  let seen = 0;
  const capture = new LogCapture(
    { write: () => void seen++ },
    { tenant: 't', plugin: 'p', version: '1.0.0', instance: 'i' },
    { perSecond: 1e9, burst: 1e9 },
    secrets,
  );
  const out = new PassThrough();
  capture.attach(out, 'stdout');
  const chunk: string[] = [];
  for (let i = 0; i < LINES; i++)
    chunk.push(
      i % 2
        ? `GET /orders/${i} answered 200 in 3 ms for customer ${i * 7}`
        : JSON.stringify({ level: 30, msg: 'order saved', orderId: i, lines: [{ sku: `A-${i}`, qty: 2 }] }),
    );
  const text = chunk.join('\n') + '\n';
  const t0 = performance.now();
  out.end(text);
  await new Promise((r) => out.once('end', r));
  const ms = performance.now() - t0;
  if (seen !== LINES) throw new Error(`log-masking bench: ${seen} of ${LINES} lines reached the sink`);
  return (ms * 1000) / LINES;
}

export async function measureLogMasking(ctx: BenchContext): Promise<BenchResult[]> {
  const plain: number[] = [];
  const masked: number[] = [];
  for (let round = 0; round < 5; round++) {
    plain.push(await microsPerLine([]));
    masked.push(await microsPerLine(SECRETS));
  }
  const floor = median(plain);
  const value = median(masked);
  ctx.log(`log lines: ${floor.toFixed(2)} µs/line without secrets, ${value.toFixed(2)} with three masked`);
  return [withinFloor('log line captured with 3 secrets masked', value, 'µs/line', floor, 1.5)];
}
