import type { FastifyInstance } from 'fastify';
import { PxError } from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';

export function registerHealthRoutes(app: FastifyInstance, s: CoreServices): void {
  app.get('/healthz', { schema: { tags: ['system'], summary: 'Liveness' } }, async () => ({
    status: 'ok',
    version: s.coreVersion,
  }));
  app.get(
    '/readyz',
    { schema: { tags: ['system'], summary: 'Readiness: database reachable and start-up recovery done' } },
    async (_req, reply) => {
      if (!s.ready())
        return reply
          .status(503)
          .send(
            new PxError(
              'INSTANCE_UNAVAILABLE',
              { state: 'starting' },
              { message: 'Core is starting', hint: 'Wait for start-up to finish.' },
            ).toJSON(),
          );
      await s.db.selectFrom('tenants').select('id').limit(1).execute();
      return { status: 'ready' };
    },
  );
  app.get(
    '/metrics',
    { schema: { tags: ['system'], summary: 'Prometheus metrics', hide: false } },
    async (_req, reply) => {
      void reply.header('content-type', s.metrics.registry.contentType);
      return s.metrics.registry.metrics();
    },
  );
}
