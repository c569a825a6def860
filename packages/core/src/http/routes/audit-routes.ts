import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuditPageSchema, AuditQuerySchema, AuditVerifySchema } from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import { hasPermission } from '../../identity/principal.ts';

export function registerAuditRoutes(base: FastifyInstance, s: CoreServices): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit entries, newest first; page with ?before=<nextBefore>',
        querystring: AuditQuerySchema,
        response: { 200: AuditPageSchema },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      if (hasPermission(p, 'admin') || hasPermission(p, 'audit:read')) return s.audit.query(q);
      // Everyone else: the tenants they belong to, and their own actions. The caller's filters
      // (actor, tenant, …) are ANDed with that scope, so `?actor=admin` cannot widen it.
      if (q.tenant) await s.tenants.assertReadAccess(p, q.tenant);
      const tenants = (await s.tenants.membershipsOf(p.userId)).map((t) => t.id);
      return s.audit.query({ ...q, scope: { tenants, actor: p.username } });
    },
  );

  app.get(
    '/api/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain; reports the first entry that was altered, inserted or removed',
        response: { 200: AuditVerifySchema },
      },
    },
    async (req) => {
      const p = principalOf(req);
      if (!hasPermission(p, 'audit:read')) s.identity.requirePermission(p, 'audit:read');
      return s.audit.verify();
    },
  );
}
