import { describe, expect, it } from 'vitest';
import { ENTRY_SANDBOX_POLICY, entryResponseHeaders, scopeSetCookie } from './entry-response-headers.ts';

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

describe('cookies a plugin sets', () => {
  const own = '/_p/t/com.x.y/';
  it('are kept to the plugin entry path, host-only, whatever Path or Domain they named', () => {
    expect(scopeSetCookie('a=1', own)).toBe(`a=1; Path=${own}`);
    expect(scopeSetCookie('a=1; Path=/; Secure', own)).toBe(`a=1; Secure; Path=${own}`);
    expect(scopeSetCookie('a=1; domain=.example.com; PATH=/_p/other/; Max-Age=5', own)).toBe(
      `a=1; Max-Age=5; Path=${own}`,
    );
    expect(scopeSetCookie('a=1; Path', own)).toBe(`a=1; Path=${own}`);
  });

  it('drops __Host- cookies (they must cover the whole host), in the header list too', () => {
    expect(scopeSetCookie('__Host-s=1; Path=/; Secure', own)).toBeUndefined();
    const out = entryResponseHeaders(['Set-Cookie', '__host-s=1; Path=/', 'Set-Cookie', 'b=2; Path=/'], own);
    expect(out).toEqual(['Set-Cookie', `b=2; Path=${own}`, 'content-security-policy', ENTRY_SANDBOX_POLICY]);
  });
});
