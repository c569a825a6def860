import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInside, resolveAllowedPath } from './dev-roots.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'px-roots-'));
  await mkdir(join(tmp, 'root/project'), { recursive: true });
  await mkdir(join(tmp, 'elsewhere'), { recursive: true });
  await symlink(join(tmp, 'elsewhere'), join(tmp, 'root/way-out'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('dev roots', () => {
  it('compares whole path segments', () => {
    expect(isInside('/home/al', '/home/al')).toBe(true);
    expect(isInside('/home/al/x', '/home/al')).toBe(true);
    expect(isInside('/home/alice', '/home/al')).toBe(false);
  });

  it('accepts a folder inside a root and refuses one outside, relative paths and links out', async () => {
    const roots = [join(tmp, 'root')];
    expect(await resolveAllowedPath(join(tmp, 'root/project'), roots)).toContain('root/project');
    await expect(resolveAllowedPath(join(tmp, 'elsewhere'), roots)).rejects.toMatchObject({
      code: 'PATH_NOT_ALLOWED',
    });
    await expect(resolveAllowedPath('root/project', roots)).rejects.toMatchObject({
      code: 'PATH_NOT_ALLOWED',
    });
    await expect(resolveAllowedPath(join(tmp, 'root/way-out'), roots)).rejects.toMatchObject({
      code: 'PATH_NOT_ALLOWED',
    });
    await expect(resolveAllowedPath(join(tmp, 'root/missing'), roots)).rejects.toMatchObject({
      code: 'DEV_BUILD_NOT_FOUND',
    });
  });
});
