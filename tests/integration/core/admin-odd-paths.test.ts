/**
 * Odd /admin paths against a real core serving a real Admin dist folder: encoded dot segments,
 * traversal out of assets/, NUL bytes. Each answers a client error with a stable code and a
 * hint — never 500 INTERNAL — and nothing outside the dist folder is ever sent.
 * Raw HTTP requests (node:http keeps the path as written; fetch would normalize `..` away).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTmp, startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

const SECRET = 'outside-the-admin-dist-7f3a';
let core: TestCore;

beforeAll(async () => {
  const tmp = await makeTmp();
  // <tmp>/admin-root/package.json and <tmp>/admin-root/secret.txt sit next to dist/: never served.
  const dist = join(tmp, 'admin-root', 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>Admin</title>');
  await writeFile(join(dist, 'assets', 'app.js'), 'console.log("admin")');
  await writeFile(join(tmp, 'admin-root', 'package.json'), JSON.stringify({ name: SECRET }));
  await writeFile(join(tmp, 'admin-root', 'secret.txt'), SECRET);
  process.env.PX_ADMIN_DIST = dist;
  core = await startTestCore({ tmp });
});
afterAll(async () => {
  delete process.env.PX_ADMIN_DIST;
  await stopTestCore(core);
});

function rawGet(path: string, accept = 'application/json'): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(core.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET', headers: { accept } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('odd /admin paths', () => {
  const odd = [
    '/admin/%2e%2e/',
    '/admin/%2e%2e/%2e%2e/package.json',
    '/admin/%2e%2e/package.json',
    '/admin/%2e%2e/secret.txt',
    '/admin/assets/../../../../etc/passwd',
    '/admin/assets/%2e%2e/%2e%2e/secret.txt',
    '/admin/foo%00bar',
    '/admin/assets/app.js%00.html',
    '/admin/%ZZ',
  ];

  it.each(odd)(
    '%s answers a client error with a code and a hint, never 500, never a file outside dist',
    async (path) => {
      for (const accept of ['application/json', 'text/html']) {
        const r = await rawGet(path, accept);
        expect(r.status, `${path} (${accept}): ${r.text.slice(0, 200)}`).toBeLessThan(500);
        expect(r.text).not.toContain(SECRET);
        expect(r.text).not.toContain('root:x:0:0');
        if (r.status >= 400) {
          const body = JSON.parse(r.text) as { code: string; hint: string };
          expect(['NOT_FOUND', 'BAD_REQUEST']).toContain(body.code);
          expect(body.hint.length).toBeGreaterThan(10);
        }
      }
    },
  );

  it('tells browsers that no page may frame the Admin, on the page, its files and its 404s', async () => {
    for (const path of [
      '/admin/',
      '/admin/t/sandbox-dev/plugins',
      '/admin/assets/app.js',
      '/admin/nope.js',
    ]) {
      const res = await fetch(`${core.url}${path}`, { headers: { accept: 'text/html' } });
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('still serves the files inside dist', async () => {
    expect((await rawGet('/admin/assets/app.js')).text).toContain('console.log');
    expect((await rawGet('/admin/', 'text/html')).text).toContain('<title>Admin</title>');
  });
});
