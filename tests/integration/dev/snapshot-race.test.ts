/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies of the API under test are checked by assertions, not types */
/**
 * The dev-install copy against a developer who swaps a file of their project for a symlink to
 * core's admin token while core copies it. A separate process flips `admin/leak.txt` between a
 * regular file and that symlink thousands of times; meanwhile core snapshots the project again
 * and again (directly and through real dev installs, whose admin page is then fetched without a
 * token). The token must never show up anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshotBuild } from '../../../packages/core/src/dev/snapshot-build.ts';
import {
  DEV_ID,
  FIXTURES,
  devInstall,
  newSandbox,
  project,
  startDevCore,
  stopTestCore,
  type TestCore,
} from './dev-kit.ts';

process.env.PX_DEV_ROOTS = tmpdir();

let core: TestCore;
let token: string;
beforeAll(async () => {
  core = await startDevCore();
  token = (await readFile(join(core.dataDir, 'admin-token'), 'utf8')).trim();
});
afterAll(async () => {
  await stopTestCore(core);
});

function startFlipper(path: string, target: string): { child: ChildProcess; stop(): Promise<number> } {
  const child = spawn(process.execPath, [join(FIXTURES, 'flip-link.mjs'), path, target], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve(Number(out.trim())));
        child.kill('SIGTERM');
      }),
  };
}

describe('dev-install copy under a symlink race', () => {
  it('never copies the admin token while a project file flips to a symlink to it thousands of times', async () => {
    expect(token.length).toBeGreaterThan(10);
    const tenant = await newSandbox(core.api, 'race');
    const dir = await project(core, 'dev-admin-leak');
    const flipper = startFlipper(join(dir, 'admin', 'leak.txt'), join(core.dataDir, 'admin-token'));
    const outcomes = { copied: 0, refused: 0 };
    let flips: number;
    try {
      // Direct snapshots: many tries in little time.
      for (let i = 0; i < 400; i++) {
        const dest = join(core.tmp, `snap-${i}`);
        try {
          await snapshotBuild(dir, dest);
          const copied = await readFile(join(dest, 'admin', 'leak.txt'), 'utf8').catch(() => '');
          expect(copied).not.toContain(token);
          outcomes.copied++;
        } catch (error) {
          if ((error as any).code !== 'DEV_PATH_LINK_OUT') throw error;
          expect(JSON.stringify(error)).not.toContain(token);
          outcomes.refused++;
        } finally {
          await rm(dest, { recursive: true, force: true });
        }
      }
      // Real dev installs, then the unauthenticated admin page of what got installed.
      for (let i = 0; i < 8; i++) {
        const r = await devInstall(core.api, { tenant, path: dir });
        expect(JSON.stringify(r.body)).not.toContain(token);
        if (r.status !== 200) {
          expect(r.body.code).toBe('DEV_PATH_LINK_OUT');
          continue;
        }
        const page = await fetch(`${core.entryUrl(tenant, DEV_ID)}_admin/leak.txt`);
        expect(await page.text()).not.toContain(token);
      }
    } finally {
      flips = await flipper.stop();
    }
    // The race really ran: thousands of flips, and both sides of it were seen.
    expect(flips).toBeGreaterThan(2000);
    expect(outcomes.copied).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, 180_000);
});
