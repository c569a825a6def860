/**
 * Sandbox tenants are isolated from each other and from production: separate storage, folders
 * and processes per tenant, and no reads of another tenant's plugins, installs, logs or audit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HELLO_ID,
  makeTmp,
  packFixtures,
  startTestCore,
  stopTestCore,
  type Api,
  type TestCore,
  TEST_STORES,
} from '../../support/core-kit.ts';

describe.each(TEST_STORES)('on %s', (store) => {
  let core: TestCore;
  let tmp: string;
  let pkgs: Record<string, string>;
  let frank: Api;

  beforeAll(async () => {
    tmp = await makeTmp();
    pkgs = await packFixtures(join(tmp, 'pkgs'));
    core = await startTestCore({ store });
    frank = await core.api.user('frank', ['plugin:dev', 'tenant:create']);
    expect((await frank.post('/api/tenants', { id: 'team-b', kind: 'sandbox' })).status).toBe(201);
  });
  afterAll(async () => {
    await stopTestCore(core);
    await rm(tmp, { recursive: true, force: true });
  });

  describe('tenant isolation', () => {
    it('gives the same plugin in two tenants its own data, folder and process', async () => {
      const a = await core.api.install(pkgs.hello, { config: { env: { GREETING: 'tenant a' } } });
      const b = await frank.install(pkgs.hello, {
        tenant: 'team-b',
        config: { env: { GREETING: 'tenant b' } },
      });
      expect([a.status, b.status]).toEqual([200, 200]);
      const ea = await (await fetch(core.entryUrl('sandbox-dev', HELLO_ID))).json();
      const eb = await (await fetch(core.entryUrl('team-b', HELLO_ID))).json();
      expect(ea).toMatchObject({ greeting: 'tenant a', customers: 5, seeded: 1 });
      expect(eb).toMatchObject({ greeting: 'tenant b', customers: 5, seeded: 1 });
      const pa = (await core.api.get(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body;
      const pb = (await frank.get(`/api/tenants/team-b/plugins/${HELLO_ID}`)).body;
      expect(pa.instance.pid).not.toBe(pb.instance.pid);
      // Uninstalling in one tenant leaves the other untouched.
      expect((await frank.delete(`/api/tenants/team-b/plugins/${HELLO_ID}`)).status).toBe(204);
      expect(await (await fetch(core.entryUrl('sandbox-dev', HELLO_ID))).json()).toMatchObject({
        greeting: 'tenant a',
        customers: 5,
      });
    });

    it('refuses reads of another tenant', async () => {
      const install = (await core.api.get('/api/installs?tenant=sandbox-dev')).body.installs[0];
      for (const path of [
        `/api/tenants/sandbox-dev/plugins`,
        `/api/tenants/sandbox-dev/plugins/${HELLO_ID}/logs`,
        `/api/installs/${install.id}`,
        `/api/installs?tenant=sandbox-dev`,
        '/api/audit?tenant=sandbox-dev',
        '/api/tenants/sandbox-dev/usage',
      ]) {
        const r = await frank.get(path);
        expect(r.body.code, path).toBe('TENANT_NOT_MEMBER');
      }
      // Frank's own audit view holds only his tenant and his actions.
      const mine = (await frank.get('/api/audit?limit=500')).body.entries;
      expect(mine.length).toBeGreaterThan(0);
      expect(
        mine.every(
          (e: { tenant: string | null; actor: string }) => e.tenant === 'team-b' || e.actor === 'frank',
        ),
      ).toBe(true);
    });

    it("keeps audit filters inside the caller's scope: ?actor= and ?tenant= never widen it", async () => {
      // Grace belongs to no tenant; the admin and frank have plenty of entries by now.
      const grace = await core.api.user('grace', ['plugin:dev']);
      expect((await core.api.get('/api/audit?actor=admin&limit=5')).body.entries.length).toBeGreaterThan(0);
      expect((await core.api.get('/api/audit?actor=frank&limit=5')).body.entries.length).toBeGreaterThan(0);
      for (const q of [
        'actor=admin',
        'actor=frank',
        'actor=admin&action=plugin.*',
        'actor=frank&tenant=team-b',
        'actor=admin&outcome=success',
        'tenant=sandbox-dev',
        'tenant=sandbox-dev&actor=admin',
        'tenant=team-b',
        'actor=grace&tenant=sandbox-dev',
        '',
      ]) {
        const r = await grace.get(`/api/audit?${q}&limit=1000`);
        const entries: { actor: string }[] = r.body.entries ?? [];
        // Either refused (a tenant she is not in) or only her own actions.
        if (r.status !== 200) expect(r.body.code, q).toBe('TENANT_NOT_MEMBER');
        expect(
          entries.filter((e) => e.actor !== 'grace'),
          q,
        ).toEqual([]);
      }
      // Frank asking for the admin's actions sees only those in his own tenant (none: the admin never acted in team-b).
      const franksView = (await frank.get('/api/audit?actor=admin&limit=1000')).body.entries as {
        actor: string;
        tenant: string | null;
      }[];
      expect(franksView.filter((e) => e.tenant !== 'team-b')).toEqual([]);
    });

    it('refuses a developer creating a production tenant or changing another tenant', async () => {
      expect((await frank.post('/api/tenants', { id: 'prod-2', kind: 'production' })).body.code).toBe(
        'FORBIDDEN',
      );
      expect((await frank.delete(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}`)).body.code).toBe(
        'TENANT_NOT_MEMBER',
      );
      expect((await frank.post(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/rollback`)).body.code).toBe(
        'TENANT_NOT_MEMBER',
      );
      expect(
        (await frank.put(`/api/tenants/sandbox-dev/plugins/${HELLO_ID}/config`, { env: { GREETING: 'x' } }))
          .body.code,
      ).toBe('TENANT_NOT_MEMBER');
    });
  });
});
