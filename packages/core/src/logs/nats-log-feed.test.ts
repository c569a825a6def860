import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PluginLogLine } from '@powerx/runtime';
import type { WsServerFrame } from '@powerx/protocol';
import { openTestNats } from '../cluster/test-nats.ts';
import { NatsLogFeed } from './nats-log-feed.ts';
import { LogHub } from './log-hub.ts';

let nats: Awaited<ReturnType<typeof openTestNats>>;
let onA: NatsLogFeed;
let onB: NatsLogFeed;

beforeEach(async () => {
  nats = await openTestNats(2, { retentionDays: 7 });
  onA = new NatsLogFeed(nats.nodes[0]);
  onB = new NatsLogFeed(nats.nodes[1]);
});
afterEach(async () => {
  onA.close();
  onB.close();
  await nats.close();
});

function line(
  tenant: string,
  plugin: string,
  msg: string,
  level: PluginLogLine['level'] = 'info',
): PluginLogLine {
  return {
    ts: new Date().toISOString(),
    tenant,
    plugin,
    version: '1.0.0',
    instance: 'i-1',
    level,
    msg,
    source: 'sdk',
  };
}

describe('NATS log feed', () => {
  it('makes lines written on one node readable on another, with the same ids', async () => {
    for (let i = 0; i < 5; i++) onA.write(line('t', 'com.x.hello', `a${i}`));
    await onA.flush();
    const fromA = await onA.query('t', 'com.x.hello', {});
    const fromB = await onB.query('t', 'com.x.hello', {});
    expect(fromB.lines.map((l) => l.msg)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(fromB).toEqual(fromA);
    const next = await onB.query('t', 'com.x.hello', { after: fromB.lines[2].id });
    expect(next.lines.map((l) => l.msg)).toEqual(['a3', 'a4']);
    expect(next.lastId).toBe(fromB.lastId);
    expect((await onB.query('t', 'com.x.hello', { after: fromB.lastId })).lines).toEqual([]);
  });

  it('returns the last lines of one plugin among many of others, with a level filter', async () => {
    for (let i = 0; i < 1500; i++) {
      onA.write(line('t', 'noisy', `n${i}`));
      if (i % 10 === 0) onA.write(line('t', 'quiet', `q${i}`, i % 20 === 0 ? 'warn' : 'info'));
    }
    await onA.flush();
    const last = await onB.query('t', 'quiet', { limit: 3 });
    expect(last.lines.map((l) => l.msg)).toEqual(['q1470', 'q1480', 'q1490']);
    const warn = await onB.query('t', 'quiet', { limit: 2, level: 'warn' });
    expect(warn.lines.map((l) => l.msg)).toEqual(['q1460', 'q1480']);
    const all = await onB.query('t', 'noisy', { after: 0, limit: 2000 });
    expect(all.lines).toHaveLength(1500);
  });

  it('keeps tenants and plugins apart even with ids that look like subject wildcards', async () => {
    onA.write(line('a', 'p.q', 'mine'));
    onA.write(line('a', '*', 'star'));
    onA.write(line('a', '>', 'gt'));
    onA.write(line('a.p', 'q', 'other'));
    await onA.flush();
    expect((await onB.query('a', 'p.q', {})).lines.map((l) => l.msg)).toEqual(['mine']);
    expect((await onB.query('a', '*', {})).lines.map((l) => l.msg)).toEqual(['star']);
    expect((await onB.query('a', '>', {})).lines.map((l) => l.msg)).toEqual(['gt']);
    expect((await onB.query('a.p', 'q', {})).lines.map((l) => l.msg)).toEqual(['other']);
  });

  it('drops the lines of an uninstalled plugin only', async () => {
    onA.write(line('t', 'gone', 'x'));
    onA.write(line('t', 'kept', 'y'));
    await onA.flush();
    await onB.dropPlugin('t', 'gone');
    expect((await onA.query('t', 'gone', {})).lines).toEqual([]);
    expect((await onA.query('t', 'kept', {})).lines).toHaveLength(1);
  });

  it('makes the retention the max_age of the stream', async () => {
    const info = await nats.nodes[0].jsm.streams.info(nats.nodes[0].names.logsStream);
    expect(info.config.max_age).toBe(7 * 86_400 * 1e9);
  });

  it('streams lines written on node A live to a log subscriber on node B, after its backfill', async () => {
    onA.write(line('t', 'p', 'before'));
    await onA.flush();
    const hub = new LogHub(onB, { delayMs: 5 });
    const frames: WsServerFrame[] = [];
    const sub = await hub.subscribe('t', 'p', { send: (f) => (frames.push(f), true), drop: () => {} });
    for (let i = 0; i < 3; i++) onA.write(line('t', 'p', `live${i}`));
    await onA.flush();
    const msgs = () => frames.flatMap((f) => (f.type === 'log' ? f.lines.map((l) => l.msg) : []));
    for (let i = 0; i < 200 && msgs().length < 4; i++) await new Promise((r) => setTimeout(r, 25));
    expect(msgs()).toEqual(['before', 'live0', 'live1', 'live2']);
    sub.unsubscribe();
    hub.close();
  });
});
