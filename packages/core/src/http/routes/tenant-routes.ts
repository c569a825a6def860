import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AccessError, CreateTenantBodySchema, TenantSchema, TenantUsageSchema } from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import { hasPermission } from '../../identity/principal.ts';
import { tenantUsage } from '../../install/tenant-checks.ts';

export function registerTenantRoutes(base: FastifyInstance, s: CoreServices): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Tenants I belong to (all, for admins)',
        response: { 200: Type.Object({ tenants: Type.Array(TenantSchema) }) },
      },
    },
    async (req) => ({ tenants: await s.tenants.listFor(principalOf(req)) }),
  );

  app.post(
    '/api/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary:
          'Create a tenant: admins any kind; users with tenant:create sandbox tenants, up to maxTenantsPerUser each; the creator becomes owner',
        body: CreateTenantBodySchema,
        response: { 201: TenantSchema },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (req.body.kind === 'sandbox') s.flags.require('plugin-sandbox-mode', 'creating sandbox tenants');
      if (!hasPermission(p, 'admin')) {
        // Every tenant brings a full quota, so creating them is a grant of its own, and counted.
        s.identity.requirePermission(p, 'tenant:create');
        if (req.body.kind !== 'sandbox')
          throw new AccessError('FORBIDDEN', { action: 'create production tenants' });
        const count = await s.tenants.countCreatedBy(p.userId);
        const limit = s.limits.maxTenantsPerUser();
        if (count >= limit) throw new AccessError('TENANT_LIMIT_REACHED', { user: p.username, count, limit });
      }
      const tenant = await s.tenants.create(req.body, p.userId);
      await s.audit.append({
        actor: p.username,
        tenant: tenant.id,
        action: 'tenant.create',
        target: tenant.id,
        outcome: 'ok',
        details: { kind: tenant.kind, allowUnsigned: tenant.allowUnsigned },
      });
      return reply.status(201).send(tenant);
    },
  );

  app.get(
    '/api/tenants/:tenant/usage',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Quota usage of a tenant',
        params: Type.Object({ tenant: Type.String() }),
        response: { 200: TenantUsageSchema },
      },
    },
    async (req) => {
      const tenant = await s.tenants.assertReadAccess(principalOf(req), req.params.tenant);
      const production = s.limits.productionFor(tenant.id);
      return {
        tenant: tenant.id,
        ...(await tenantUsage(s.db, tenant.id)),
        limits: s.limits.forTenant(tenant.id),
        // Side by side with the production counterpart, so a quota gap shows before release.
        ...(tenant.kind === 'sandbox'
          ? { production: { tenant: production, limits: s.limits.forTenant(production) } }
          : {}),
      };
    },
  );
}
