import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import {
  HELLO_ID,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type TestCore,
  TEST_STORES,
} from '../../support/core-kit.ts';

describe.each(TEST_STORES)('on %s', (store) => {
  let core: TestCore;
  let pkgs: Record<string, string>;
  let tmp: string;

  beforeAll(async () => {
    tmp = await makeTmp();
    pkgs = await packFixtures(tmp);
    core = await startTestCore({ store });
  });
  afterAll(async () => {
    await stopTestCore(core);
    await rm(tmp, { recursive: true, force: true });
  });

  describe('upload install', () => {
    it('installs the hello plugin into sandbox-dev and its entry point answers', async () => {
      const r = await core.api.install(pkgs.hello, {
        config: { env: { TIMES: '3' }, secrets: { API_KEY: 'k-123' } },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.state).toBe('running');
      expect(r.body.stages.map((s: { stage: string }) => s.stage)).toEqual([
        'received',
        'validating',
        'awaiting_config',
        'provisioning',
        'starting',
        'health_check',
        'seeding',
        'running',
      ]);
      expect(JSON.stringify(r.body)).not.toContain('k-123');
      const entry = await fetch(r.body.entryUrl);
      expect(entry.status).toBe(200);
      expect(await entry.json()).toMatchObject({
        plugin: HELLO_ID,
        version: '1.0.0',
        greeting: 'hi',
        times: 3,
        hasApiKey: true,
        customers: 5,
        seeded: 1,
      });
    });
  });
});
