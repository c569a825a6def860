import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandRoot, isInside, resolveAllowedPath } from './dev-roots.ts';

let tmp: string;
let roots: string[];
let data: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'px-roots-'));
  roots = [join(tmp, 'root')];
  data = join(tmp, 'root/.px-data');
  await mkdir(join(tmp, 'root/project'), { recursive: true });
  await mkdir(join(tmp, 'elsewhere/secret'), { recursive: true });
  await mkdir(join(data, 'tenants/b/plugins/p/versions/v1'), { recursive: true });
  await symlink(join(tmp, 'elsewhere/secret'), join(tmp, 'root/to-existing'));
  await symlink(join(tmp, 'elsewhere/missing'), join(tmp, 'root/to-missing'));
  await symlink(join(data, 'tenants/b/plugins/p/versions/v1'), join(tmp, 'root/to-data'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function refusal(path: string): Promise<unknown> {
  return resolveAllowedPath(path, roots, data).then(
    () => 'accepted',
    (error: { code: string; message: string; hint: string; status: number }) => ({
      code: error.code,
      status: error.status,
      // The path the caller sent is theirs; the rest of the answer must not depend on the target.
      message: error.message.replace(path, '<path>'),
      hint: error.hint,
    }),
  );
}

describe('dev roots', () => {
  it('expands ~ to the home folder and resolves the rest', () => {
    expect(expandRoot('~')).toBe(homedir());
    expect(expandRoot('~/plugins')).toBe(join(homedir(), 'plugins'));
    expect(expandRoot('/a/b/../c')).toBe('/a/c');
  });

  it('compares whole path segments', () => {
    expect(isInside('/home/al', '/home/al')).toBe(true);
    expect(isInside('/home/al/x', '/home/al')).toBe(true);
    expect(isInside('/home/alice', '/home/al')).toBe(false);
  });

  it('accepts a folder inside a root and refuses relative paths and folders outside', async () => {
    expect(await resolveAllowedPath(join(tmp, 'root/project'), roots, data)).toContain('root/project');
    await expect(resolveAllowedPath(join(tmp, 'elsewhere'), roots, data)).rejects.toMatchObject({
      code: 'PATH_NOT_ALLOWED',
    });
    await expect(resolveAllowedPath('root/project', roots, data)).rejects.toMatchObject({
      code: 'PATH_NOT_ALLOWED',
    });
  });

  it("never reads core's data folder, even inside a root or through a link", async () => {
    for (const path of [
      data,
      join(data, 'tenants/b/plugins/p/versions/v1'),
      join(tmp, 'root/to-data'),
      join(tmp, 'root'), // holds the data folder
    ])
      expect(await refusal(path), path).toMatchObject({ code: 'PATH_NOT_ALLOWED', status: 403 });
  });

  it('answers the same for a link to an existing folder, a link to nothing, and a missing path', async () => {
    const answers = await Promise.all(
      [
        'root/to-existing',
        'root/to-missing',
        'root/nothing-here',
        'elsewhere/secret',
        'elsewhere/missing',
      ].map((p) => refusal(join(tmp, p))),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(JSON.stringify(answers[0])).not.toContain('elsewhere');
  });

  it('says that no folder is readable when no root is configured', async () => {
    await expect(resolveAllowedPath(join(tmp, 'root/project'), [], data)).rejects.toMatchObject({
      code: 'PATH_NOT_ALLOWED',
      hint: expect.stringContaining('No dev roots are configured'),
    });
  });
});
