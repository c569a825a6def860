import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'px-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('atomic small files', () => {
  it('writes the whole file, owner-only, and leaves no temporary file behind', async () => {
    const file = join(dir, 'admin-token');
    await writeFileAtomic(file, 'token-1\n');
    await writeFileAtomic(file, 'token-2\n');
    expect(await readFile(file, 'utf8')).toBe('token-2\n');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(await readdir(dir)).toEqual(['admin-token']);
  });

  it('in exclusive mode never replaces an existing file (a master key is written once)', async () => {
    const file = join(dir, 'master.key');
    await writeFile(file, 'the-real-key\n');
    await expect(writeFileAtomic(file, 'another-key\n', { exclusive: true })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await readFile(file, 'utf8')).toBe('the-real-key\n');
    expect(await readdir(dir)).toEqual(['master.key']);
  });

  it('a write that cannot happen leaves the previous file as it was', async () => {
    const file = join(dir, 'missing-folder', 'audit-head.json');
    await expect(writeFileAtomic(file, '{}')).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(dir, 'audit-head.json'), '{"head":1}');
    // A folder where the file should be: the rename fails, the old content of the sibling stays.
    await expect(writeFileAtomic(dir, '{}')).rejects.toBeDefined();
    expect(await readFile(join(dir, 'audit-head.json'), 'utf8')).toBe('{"head":1}');
  });
});
