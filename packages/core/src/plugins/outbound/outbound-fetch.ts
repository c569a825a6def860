/**
 * Outbound HTTP on behalf of a plugin. The address check runs in the socket's own `lookup`, i.e.
 * on the addresses the connection is really made to: every address the name resolves to must
 * pass (address-policy.ts), so a name that also resolves to 127.0.0.1, or that changes its answer
 * between a check and the connect (DNS rebinding), is refused. IP literals (also 2130706433,
 * which the URL parser turns into 127.0.0.1) are checked the same way before connecting.
 *
 * The body is read as a stream and the connection is cut as soon as it passes the cap, so core
 * holds at most the cap in memory whatever the upstream sends; headers are capped by Node's
 * parser (maxHeaderSize) and the whole exchange by a deadline.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { PluginRuntimeError } from '@powerx/protocol';
import type { AddressPolicy } from './address-policy.ts';

export interface OutboundLimits {
  maxBodyBytes: number;
  maxHeaderBytes: number;
  timeoutMs: number;
}

export const DEFAULT_OUTBOUND_LIMITS: OutboundLimits = {
  maxBodyBytes: 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  timeoutMs: 10_000,
};

export type Resolver = (
  hostname: string,
  cb: (err: Error | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, cb) =>
  dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => cb(err, addresses ?? []));

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function blocked(host: string, address: string, reason: string): PluginRuntimeError {
  return new PluginRuntimeError('OUTBOUND_ADDRESS_BLOCKED', { host, address, reason });
}

/** A `lookup` for the socket that refuses the whole name if any of its addresses is refused. */
function guardedLookup(policy: AddressPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const family = options.family === 4 || options.family === 6 ? options.family : 0;
      const usable = addresses.filter((a) => !family || a.family === family);
      for (const a of usable) {
        const verdict = policy.check(a.address);
        if (!verdict.allowed) return callback(blocked(hostname, a.address, verdict.reason!), '', 0);
      }
      if (!usable.length)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

export function outboundFetch(
  url: string,
  init: OutboundRequest,
  policy: AddressPolicy,
  limits: OutboundLimits = DEFAULT_OUTBOUND_LIMITS,
  resolve: Resolver = systemResolver,
): Promise<OutboundResponse> {
  const target = new URL(url);
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(hostname)) {
    const verdict = policy.check(hostname);
    if (!verdict.allowed) return Promise.reject(blocked(hostname, hostname, verdict.reason!));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    // One deadline for the whole exchange: connect, headers and body (the socket timeout alone
    // would let a slow drip of bytes run forever).
    const deadline = setTimeout(
      () => fail(new PluginRuntimeError('OUTBOUND_TIMEOUT', { ms: limits.timeoutMs })),
      limits.timeoutMs,
    );
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      reject(error);
    };
    const request = client.request(
      target,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        lookup: guardedLookup(policy, resolve),
        maxHeaderSize: limits.maxHeaderBytes,
        agent: false,
        timeout: limits.timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBodyBytes) {
            chunks.length = 0;
            fail(new PluginRuntimeError('OUTBOUND_BODY_TOO_LARGE', { limit: limits.maxBodyBytes }));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers))
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          resolvePromise({
            status: response.statusCode ?? 502,
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('timeout', () => fail(new PluginRuntimeError('OUTBOUND_TIMEOUT', { ms: limits.timeoutMs })));
    request.on('error', (error: NodeJS.ErrnoException) => {
      if ((error as PluginRuntimeError).code === 'OUTBOUND_ADDRESS_BLOCKED') return fail(error);
      if (error.code === 'HPE_HEADER_OVERFLOW')
        return fail(new PluginRuntimeError('OUTBOUND_HEADERS_TOO_LARGE', { limit: limits.maxHeaderBytes }));
      fail(
        new PluginRuntimeError('OUTBOUND_FAILED', { host: hostname, detail: error.code ?? error.message }),
      );
    });
    request.end(init.body);
  });
}
