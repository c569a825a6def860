import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, request, type Harness } from './helpers.ts';

describe('plugin handler styles', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('serves a plain node:http handler (any Node framework)', async () => {
    const info = await h.supervisor.start(await h.spec('node-handler'));
    const reply = await request(info, '/x?y=1');
    expect(reply.headers['x-style']).toBe('node');
    expect(reply.json()).toEqual({ style: 'node', url: '/x?y=1', tenant: 'sandbox-a' });
    // Its seed hook throws: runSeed says so with SEED_FAILED, the instance keeps running.
    await expect(h.supervisor.runSeed(info.id)).rejects.toMatchObject({
      code: 'SEED_FAILED',
      message: 'Seeding test data failed: seed broke',
    });
    expect(h.supervisor.get(info.id)?.state).toBe('ready');
  });

  it('serves a standard Request → Response handler, bodies and cookies included', async () => {
    const info = await h.supervisor.start(await h.spec('fetch-handler'));
    const reply = await request(info, '/p', { method: 'POST', body: 'hello' });
    expect(reply.headers['set-cookie']).toEqual(['a=1']);
    expect(reply.json()).toEqual({ style: 'fetch', path: '/p', body: 'hello', tenant: 'sandbox-a' });
    await h.supervisor.runSeed(info.id);
    expect(h.lines.some((l) => l.instance === info.id && l.msg === 'seeded by the definePlugin hook')).toBe(
      true,
    );
  });
});
