/** Shared by this package's tests: fixture paths and temp folders that are always cleaned up. */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const GOOD_PXP = join(FIXTURES, 'good', 'hello.pxp');
export const TEST_KEY = join(FIXTURES, 'keys', 'test.key.pem');
export const TEST_PUB = join(FIXTURES, 'keys', 'test.pub.pem');
export const UNTRUSTED_KEY = join(FIXTURES, 'keys', 'untrusted.key.pem');
export const UNTRUSTED_PUB = join(FIXTURES, 'keys', 'untrusted.pub.pem');

/** Creates temp folders on demand; `cleanup()` removes all of them (call it in afterEach/afterAll). */
export function tempDirs(prefix: string) {
  const made: string[] = [];
  return {
    async make(): Promise<string> {
      const dir = await mkdtemp(join(os.tmpdir(), `${prefix}-`));
      made.push(dir);
      return dir;
    },
    async cleanup(): Promise<void> {
      await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

export async function listRecursive(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

/**
 * A fresh copy of the good package's content (what good/src holds), made by unpacking the
 * committed good/hello.pxp, so tests do not depend on good/src/dist being committed
 * (.gitignore ignores dist/ folders). The copy lives in `dir`.
 */
export async function goodSource(dir: string): Promise<string> {
  const { extractPackage } = await import('./extract.ts');
  const out = await extractPackage(GOOD_PXP, { stagingRoot: dir });
  const src = join(dir, 'good-src');
  await cp(out.dir, src, { recursive: true });
  await out.remove();
  await rm(join(src, '_pxp'), { recursive: true });
  return src;
}
