/**
 * Builds the Fastify app: OpenAPI at /docs from the protocol schemas, one error handler, the auth
 * hook, multipart uploads, the plugin test entry points at /_p/<tenant>/<plugin>/…, and the routes.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { documentResponses } from './openapi-responses.ts';
import type { Logger } from 'pino';
import { ENTRY_SANDBOX_POLICY, type EntryProxy } from '@powerx/runtime';
import { NotFoundError } from '@powerx/protocol';
import type { CoreServices } from '../core-services.ts';
import { frameworkErrors, installErrorHandler } from './error-handler.ts';
import { installAuthHook } from './auth-hook.ts';
import { registerHealthRoutes } from './routes/health-routes.ts';
import { registerIdentityRoutes } from './routes/identity-routes.ts';
import { registerTenantRoutes } from './routes/tenant-routes.ts';
import { registerInstallRoutes } from './routes/install-routes.ts';
import { registerPluginRoutes } from './routes/plugin-routes.ts';
import { registerAuditRoutes } from './routes/audit-routes.ts';
import { registerBackupRoutes } from './routes/backup-routes.ts';
import { registerDevRoutes } from './routes/dev-routes.ts';
import { registerWsRoutes } from './routes/ws-routes.ts';
import { registerAdminStaticRoutes, servePluginAdminPage } from './routes/admin-static-routes.ts';
import { applyEntryCors } from './entry-cors.ts';
import { registerVersionRoutes } from './routes/version-routes.ts';
import { installRequestLogContext, requestIdOf } from '../logging/request-log-context.ts';

const ENTRY = /^\/_p\/([^/?#]+)\/([^/?#]+)(\/[^?#]*)?(\?.*)?$/;

export async function buildServer(
  s: CoreServices,
  logger: Logger,
  entryProxy: EntryProxy & { knows?(tenant: string, pluginId: string): boolean },
): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: requestIdOf,
    bodyLimit: 1024 * 1024,
    // On shutdown, also close connections with a request still in flight (e.g. a refused upload).
    forceCloseConnections: true,
    // Malformed URLs (/admin/%ZZ) get the same { code, message, hint } as every other error.
    frameworkErrors,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
  });
  installErrorHandler(app);
  installRequestLogContext(app);

  // The test entry points bypass Fastify's body parsing: the raw request is streamed to the plugin.
  app.addHook('onRequest', async (request, reply) => {
    const match = ENTRY.exec(request.url);
    if (!match) return;
    s.flags.require('plugin-sandbox-mode', 'test entry points');
    const target = {
      tenant: decodeURIComponent(match[1]),
      pluginId: decodeURIComponent(match[2]),
      path: (match[3] ?? '/') + (match[4] ?? ''),
    };
    reply.hijack();
    // Every answer under the entry point runs sandboxed, in an opaque origin, never in the Admin's
    // (runtime's entry-response-headers.ts says why; the proxy keeps it on the plugin's answers).
    reply.raw.setHeader('content-security-policy', ENTRY_SANDBOX_POLICY);
    // CORS for the Admin's sandboxed plugin pages (opaque origin), then the plugin's static admin
    // pages under <entry>/_admin/, then the plugin itself.
    if (applyEntryCors(request.raw, reply.raw)) return;
    try {
      if (await servePluginAdminPage(s, reply.raw, { ...target, method: request.method })) return;
    } catch (error) {
      // Hijacked: Fastify's error handler cannot answer any more, so answer here rather than hang.
      request.log.error({ err: error }, 'plugin admin page failed');
      if (!reply.raw.headersSent)
        reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(
        JSON.stringify({
          code: 'INTERNAL',
          message: 'The plugin admin page could not be served',
          hint: 'Retry; if it persists, check the core log.',
        }),
      );
      return;
    }
    // In a cluster a plugin served by another node is known from its lease: no store query per
    // forwarded request (the owner, where the request lands, checks again if it has no instance).
    if (
      !s.pipeline.servingInstance(target.tenant, target.pluginId) &&
      !entryProxy.knows?.(target.tenant, target.pluginId) &&
      !(await s.plugins.isInstalled(target.tenant, target.pluginId))
    ) {
      // Nothing by that name: a 404 the caller can act on, not a 502 that reads like an outage.
      const error = new NotFoundError('ENTRY_PLUGIN_NOT_FOUND', {
        tenant: target.tenant,
        plugin: target.pluginId,
      });
      const body = JSON.stringify(error.toJSON());
      reply.raw.writeHead(404, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      reply.raw.end(body);
      return;
    }
    entryProxy(request.raw, reply.raw, target);
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'PowerX Plugin Sandbox core',
        version: s.coreVersion,
        description:
          'Upload installs into sandbox tenants, status, rollback, audit, keys. Errors are always {code, message, hint, details?}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: documentResponses,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(multipart, {
    limits: {
      fileSize: s.limits.maxPackageBytesAnyTenant() + 1,
      files: 1,
      fields: 20,
      fieldSize: 256 * 1024,
    },
  });
  registerVersionRoutes(app, s);
  installAuthHook(app, s.identity);

  registerHealthRoutes(app, s);
  registerIdentityRoutes(app, s);
  registerTenantRoutes(app, s);
  registerInstallRoutes(app, s);
  registerPluginRoutes(app, s);
  registerAuditRoutes(app, s);
  registerBackupRoutes(app, s);
  registerDevRoutes(app, s);
  registerWsRoutes(app, s);
  registerAdminStaticRoutes(app, s);
  return app;
}
