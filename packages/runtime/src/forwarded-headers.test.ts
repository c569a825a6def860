import { describe, expect, it } from 'vitest';
import { appendForwardedFor, forwardableHeaders, forwardableRawHeaders } from './forwarded-headers.ts';

describe('the headers a proxy passes on', () => {
  it('drops hop-by-hop headers, those named in Connection and the client x-forwarded-* from a raw list', () => {
    const raw = [
      'Host',
      'a.test',
      'Connection',
      'keep-alive, X-Secret-Hop',
      'X-Secret-Hop',
      '1',
      'Transfer-Encoding',
      'chunked',
      'X-Forwarded-For',
      '6.6.6.6',
      'Accept',
      Buffer.from('*/*'),
    ];
    expect(forwardableRawHeaders(raw, 'keep-alive, X-Secret-Hop')).toEqual([
      'Host',
      'a.test',
      'Accept',
      '*/*',
    ]);
  });

  it('copies a header object without hop-by-hop headers and the extra names asked for', () => {
    const headers = {
      host: 'a.test',
      upgrade: 'h2c',
      accept: '*/*',
      'x-forwarded-for': '1.1.1.1',
      te: undefined,
    };
    expect(forwardableHeaders(headers, ['host'])).toEqual({ accept: '*/*', 'x-forwarded-for': '1.1.1.1' });
    expect(forwardableHeaders(headers)).toEqual({
      host: 'a.test',
      accept: '*/*',
      'x-forwarded-for': '1.1.1.1',
    });
  });

  it('appends the peer to the client x-forwarded-for chain', () => {
    expect(appendForwardedFor(undefined, '10.0.0.2')).toBe('10.0.0.2');
    expect(appendForwardedFor('1.1.1.1', '10.0.0.2')).toBe('1.1.1.1, 10.0.0.2');
    expect(appendForwardedFor('1.1.1.1', undefined)).toBeUndefined();
  });
});
