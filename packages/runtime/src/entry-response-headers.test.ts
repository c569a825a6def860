import { describe, expect, it } from 'vitest';
import { ENTRY_SANDBOX_POLICY, entryResponseHeaders } from './entry-response-headers.ts';

describe('entry point response headers', () => {
  it("keep the plugin's headers, its own policy included, and always add the sandbox policy", () => {
    const out = entryResponseHeaders([
      'Content-Type',
      'text/html',
      'Content-Security-Policy',
      'sandbox allow-same-origin allow-scripts',
    ]);
    expect(out).toEqual([
      'Content-Type',
      'text/html',
      'Content-Security-Policy',
      'sandbox allow-same-origin allow-scripts',
      'content-security-policy',
      ENTRY_SANDBOX_POLICY,
    ]);
    expect(ENTRY_SANDBOX_POLICY).not.toContain('allow-same-origin');
  });

  it('drop the headers that would act on the whole origin, the Admin included', () => {
    const out = entryResponseHeaders([
      'Service-Worker-Allowed',
      '/',
      'clear-site-data',
      '"storage"',
      'x-a',
      '1',
    ]);
    expect(out).toEqual(['x-a', '1', 'content-security-policy', ENTRY_SANDBOX_POLICY]);
  });
});
