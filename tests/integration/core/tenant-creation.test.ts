/**
 * Every tenant comes with a full quota, so tenants are not free for the taking: creating one needs
 * the permission tenant:create (which plugin:dev does not include), and a user may create at most
 * maxTenantsPerUser of them (sandbox_limits.yaml). What a developer can hold is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, stopTestCore, type TestCore } from '../../support/core-kit.ts';

let core: TestCore;
beforeAll(async () => {
  core = await startTestCore();
});
afterAll(async () => {
  await stopTestCore(core);
});

describe('tenant creation', () => {
  it('a developer with plugin:dev only cannot create tenants', async () => {
    const dev = await core.api.user('dora', ['plugin:dev']);
    for (let i = 0; i < 5; i++) {
      const r = await dev.post('/api/tenants', { id: `dora-${i}`, kind: 'sandbox' });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({
        code: 'PERMISSION_MISSING',
        hint: expect.stringContaining('tenant:create'),
      });
    }
    expect((await core.api.get('/api/tenants')).body.tenants.map((t: { id: string }) => t.id)).not.toContain(
      'dora-0',
    );
  });

  it('a user granted tenant:create creates up to the per-user cap, then gets TENANT_LIMIT_REACHED', async () => {
    const dev = await core.api.user('tess', ['plugin:dev', 'tenant:create']);
    for (let i = 0; i < 3; i++)
      expect((await dev.post('/api/tenants', { id: `tess-${i}`, kind: 'sandbox' })).status).toBe(201);
    const over = await dev.post('/api/tenants', { id: 'tess-3', kind: 'sandbox' });
    expect(over.status).toBe(403);
    expect(over.body).toMatchObject({
      code: 'TENANT_LIMIT_REACHED',
      details: { user: 'tess', count: 3, limit: 3 },
    });
    // Still only sandbox tenants, and nothing was created by the refused call.
    expect((await dev.post('/api/tenants', { id: 'tess-prod', kind: 'production' })).body.code).toBe(
      'FORBIDDEN',
    );
    expect((await dev.get('/api/tenants')).body.tenants).toHaveLength(3);
  });

  it('admins are not counted', async () => {
    for (let i = 0; i < 5; i++)
      expect((await core.api.post('/api/tenants', { id: `ops-${i}`, kind: 'sandbox' })).status).toBe(201);
  });
});
