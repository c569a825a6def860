import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PluginLogLine } from './contract.ts';
import { LogCapture, MAX_LINE } from './log-capture.ts';

const base = { tenant: 't', plugin: 'p', version: '1.0.0', instance: 'i1' };

describe('log capture', () => {
  it('cuts a flood at the burst and counts the rest', () => {
    const lines: PluginLogLine[] = [];
    const capture = new LogCapture({ write: (l) => lines.push(l) }, base, { perSecond: 10, burst: 50 });
    for (let i = 0; i < 1000; i++) capture.write('stdout', 'info', `line ${i}`);
    expect(lines.length).toBeLessThanOrEqual(51);
    expect(capture.dropped).toBeGreaterThanOrEqual(949);
    capture.close();
    const report = lines.at(-1)!;
    expect(report).toMatchObject({ source: 'runtime', level: 'warn' });
    expect(report.fields?.dropped).toBe(capture.dropped);
  });

  it('splits streams into lines, keeps JSON levels and fields, caps long lines', async () => {
    const lines: PluginLogLine[] = [];
    const capture = new LogCapture({ write: (l) => lines.push(l) }, base);
    const out = new PassThrough();
    const err = new PassThrough();
    capture.attach(out, 'stdout');
    capture.attach(err, 'stderr');
    out.write('plain one\npartial');
    out.write(' two\n{"level":40,"msg":"pino warn","orderId":7}\n');
    err.write('Error: boom\n');
    out.end('x'.repeat(MAX_LINE * 2));
    err.end();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.source, l.level, l.msg.slice(0, 20)])).toEqual([
      ['stdout', 'info', 'plain one'],
      ['stdout', 'info', 'partial two'],
      ['stdout', 'warn', 'pino warn'],
      ['stderr', 'error', 'Error: boom'],
      ['stdout', 'info', 'x'.repeat(20)],
    ]);
    expect(lines[2].fields).toEqual({ orderId: 7 });
    expect(lines[4].msg.length).toBe(MAX_LINE);
    expect(lines[0]).toMatchObject(base);
  });

  it('masks the secrets the plugin was given in every line: the message, field values and keys, a line split over writes', async () => {
    const lines: PluginLogLine[] = [];
    const secrets = ['tok-123', 'tok-123456'];
    const capture = new LogCapture({ write: (l) => lines.push(l) }, base, undefined, secrets);
    const out = new PassThrough();
    capture.attach(out, 'stdout');
    out.write('the key is tok-12');
    out.write('3456, ok\n');
    out.write('{"level":30,"msg":"json tok-123","auth":{"bearer":"tok-123"},"tok-123":["a tok-123"]}\n');
    out.end();
    capture.write('sdk', 'info', 'ctx.log', { nested: [{ k: 'x tok-123456 y' }], n: 1 });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual(['the key is [secret], ok', 'json [secret]', 'ctx.log']);
    expect(lines[1].fields).toEqual({ auth: { bearer: '[secret]' }, '[secret]': ['a [secret]'] });
    expect(lines[2].fields).toEqual({ nested: [{ k: 'x [secret] y' }], n: 1 });
    expect(JSON.stringify(lines)).not.toContain('tok-123');
  });
});
