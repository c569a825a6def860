import { describe, expect, it } from 'vitest';
import { createCoreLogger } from './core-logger.ts';
import { logContext, withLogContext } from './log-context.ts';

function capture(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const { logger, lineCounts } = createCoreLogger({
    level,
    destination: { write: (s: string) => (raw.push(s), lines.push(JSON.parse(s))) },
  });
  return { logger, lineCounts, lines, raw };
}

describe('core logger', () => {
  it('redacts secrets wherever a logged object holds them', () => {
    const { logger, raw, lines } = capture('info');
    logger.info(
      {
        config: { env: { A: '1' }, secrets: { API_KEY: 'v-secret-1' } },
        req: { headers: { authorization: 'Bearer t-secret-2' } },
        password: 'p-secret-3',
        adminToken: 't-secret-4',
      },
      'x',
    );
    logger.info({ body: { token: 't-secret-5', password: 'p-secret-6' } }, 'y');
    const out = raw.join('');
    for (const secret of ['v-secret-1', 't-secret-2', 'p-secret-3', 't-secret-4', 't-secret-5', 'p-secret-6'])
      expect(out).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      config: { env: { A: '1' }, secrets: '[redacted]' },
      password: '[redacted]',
    });
  });

  it('writes only lines at or above the configured level and counts them by level', () => {
    const { logger, lines, lineCounts } = capture('warn');
    logger.info('hidden');
    logger.warn('shown');
    logger.error('shown too');
    expect(lines.map((l) => l.msg)).toEqual(['shown', 'shown too']);
    expect(Object.fromEntries(lineCounts.byLevel)).toEqual({ warn: 1, error: 1 });
  });

  it('adds the request and install ids of the log context to every line, also in work started later', async () => {
    const { logger, lines } = capture('info');
    await logContext.run({ reqId: 'r-1' }, async () => {
      logger.info('in request');
      await withLogContext({ installId: 'i-1' }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        logger.info('in install, after a timer');
      });
    });
    logger.info('outside');
    expect(lines.map((l) => [l.msg, l.reqId, l.installId])).toEqual([
      ['in request', 'r-1', undefined],
      ['in install, after a timer', 'r-1', 'i-1'],
      ['outside', undefined, undefined],
    ]);
  });

  it('does not write reqId twice on a Fastify-style child logger that binds it', () => {
    const { logger, raw } = capture('info');
    logContext.run({ reqId: 'r-2', installId: 'i-2' }, () => logger.child({ reqId: 'r-2' }).info('child'));
    expect(raw[0].match(/"reqId"/g)).toHaveLength(1);
    expect(JSON.parse(raw[0])).toMatchObject({ reqId: 'r-2', installId: 'i-2' });
  });

  it('refuses an unknown level, naming the setting and the allowed levels', () => {
    expect(() => createCoreLogger({ level: 'verbose' })).toThrow(
      'Log level "verbose" (PX_LOG_LEVEL) is not one of trace, debug, info, warn, error, fatal, silent',
    );
  });
});
