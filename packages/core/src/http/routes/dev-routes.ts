/**
 * Dev mode REST. Every route answers 404 DEV_MODE_DISABLED (with the hint to set
 * PX_PLUGIN_DEV_MODE=1) when core is not in dev mode, before looking at the body.
 *
 *   POST   /api/plugins/dev/sessions                  open the (tenant, plugin) session, or 409 naming its holder
 *   POST   /api/plugins/dev/sessions/:id/heartbeat    keep it alive (px-plugin dev: every ttl/3)
 *   POST   /api/plugins/dev/sessions/:id/build-error  a local build failed: log line, event, Admin marker
 *   DELETE /api/plugins/dev/sessions/:id?keep=        end it; uninstalls unless keep=true
 *   POST   /api/plugins/dev/install                   JSON {tenant, path, sessionId?} or multipart (tenant, sessionId, package)
 *   DELETE /api/plugins/dev/install                   {tenant, pluginId, sessionId?, removeData?}
 *   GET    /api/plugins/dev/status                    dev mode on, allowed roots, session ttl
 *   GET    /api/plugins/dev/sessions?tenant=          active sessions (holder, started, last seen) and their reload history
 *   GET    /api/plugins/dev/policy                    the effective dev policy (answers with dev mode off too)
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { rm } from 'node:fs/promises';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import {
  DevInstallBodySchema,
  DevReloadSchema,
  DevSessionEndQuerySchema,
  DevSessionOpenBodySchema,
  DevSessionSchema,
  DevSessionsListSchema,
  DevSessionsQuerySchema,
  DevUninstallBodySchema,
  EffectiveDevPolicySchema,
  InputError,
  PxError,
} from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import { receivePackageUpload } from '../upload.ts';

const installBody = Compile(DevInstallBodySchema);
const SessionParams = Type.Object({ id: Type.String() });
const tags = ['dev'];

export function registerDevRoutes(base: FastifyInstance, s: CoreServices): void {
  const dev = s.dev;
  // Outside the dev-mode gate: whoever is told "dev mode is off" can read why and what would apply.
  base.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/plugins/dev/policy',
    {
      schema: {
        tags,
        summary: 'The dev policy in force: dev_policy.yaml with its defaults and overrides',
        response: { 200: EffectiveDevPolicySchema },
      },
    },
    async (req) => {
      principalOf(req);
      return s.policy.current;
    },
  );
  void base.register(async (scope) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();
    // Dev mode off: 404 with the hint, whatever the body (runs before validation).
    app.addHook('preValidation', async () => dev.requireDevMode());

    app.get(
      '/api/plugins/dev/status',
      { schema: { tags, summary: 'Dev mode: allowed roots for path installs, session ttl' } },
      async (req) => {
        principalOf(req);
        return { devMode: true, roots: dev.roots, sessionTtlMs: dev.sessions.ttlMs };
      },
    );

    app.get(
      '/api/plugins/dev/sessions',
      {
        schema: {
          tags,
          summary:
            'Active dev sessions of a tenant with their reload history (member of the tenant or admin)',
          querystring: DevSessionsQuerySchema,
          response: { 200: DevSessionsListSchema },
        },
      },
      async (req) => dev.listSessions(principalOf(req), req.query.tenant),
    );

    app.post(
      '/api/plugins/dev/sessions',
      {
        schema: {
          tags,
          summary: 'Open the dev session of a plugin (one per tenant and plugin)',
          body: DevSessionOpenBodySchema,
          response: { 201: DevSessionSchema },
        },
      },
      async (req, reply) => {
        const session = await dev.openSession(
          principalOf(req),
          req.body.tenant,
          req.body.pluginId,
          req.body.client,
        );
        return reply.status(201).send(session);
      },
    );

    app.post(
      '/api/plugins/dev/sessions/:id/heartbeat',
      {
        schema: {
          tags,
          summary: 'Keep a dev session alive',
          params: SessionParams,
          response: { 200: DevSessionSchema },
        },
      },
      async (req) => dev.heartbeat(principalOf(req), req.params.id),
    );

    app.post(
      '/api/plugins/dev/sessions/:id/build-error',
      {
        schema: {
          tags,
          summary: 'Report a failed local build (nothing pushed; the running version stays)',
          params: SessionParams,
          body: Type.Object({ message: Type.String({ maxLength: 16_384 }) }),
        },
      },
      async (req, reply) => {
        await dev.reportBuildError(principalOf(req), req.params.id, req.body);
        return reply.status(204).send();
      },
    );

    app.delete(
      '/api/plugins/dev/sessions/:id',
      {
        schema: {
          tags,
          summary: 'End a dev session; uninstalls the plugin unless keep=true',
          params: SessionParams,
          querystring: DevSessionEndQuerySchema,
          response: { 200: Type.Object({ uninstalled: Type.Boolean() }) },
        },
      },
      async (req) =>
        dev.endSession(principalOf(req), req.params.id, {
          keep: req.query.keep === true,
          removeData: req.query.removeData === true,
        }),
    );

    app.post(
      '/api/plugins/dev/install',
      {
        schema: {
          tags,
          summary: 'Dev install / reload from a folder core can read, or from an uploaded build',
          description:
            'JSON `{tenant, path, sessionId?}`: core copies the build (plugin project with plugin.yaml + dist/, or build output with manifest.json + dist/) from an allowed root (PX_DEV_ROOTS) into its own folder. Or multipart: `tenant`, `sessionId` fields, then the `package` file (an unsigned .pxp). Answers when the new version serves (`result: running`), or with `result: failed` and the reason while the last stable version keeps serving.',
          response: { 200: DevReloadSchema },
        },
      },
      async (req) => {
        const p = principalOf(req);
        if (req.isMultipart()) {
          const upload = await receivePackageUpload(req, {
            uploadsDir: s.paths.uploads,
            limitFor: (fields) => s.limits.forTenant(fields.tenant ?? '').maxPackageMb * 1024 * 1024,
          });
          try {
            const tenant = upload.fields.tenant;
            if (!tenant)
              throw new InputError('BAD_REQUEST', { detail: 'multipart field "tenant" is missing' });
            return await dev.install(p, {
              tenant,
              sessionId: upload.fields.sessionId || undefined,
              source: { uploadPath: upload.path, bytes: upload.bytes },
            });
          } finally {
            await rm(upload.path, { force: true });
          }
        }
        if (!installBody.Check(req.body)) {
          const first = [...installBody.Errors(req.body)][0] as
            { instancePath?: string; message?: string } | undefined;
          throw new PxError('BAD_REQUEST', {
            detail: `body${first?.instancePath?.replaceAll('/', '.') ?? ''} ${first?.message ?? 'is invalid'}; expected {tenant, path, sessionId?}`,
          });
        }
        const body = req.body;
        return dev.install(p, {
          tenant: body.tenant,
          sessionId: body.sessionId,
          source: { path: body.path },
        });
      },
    );

    app.delete(
      '/api/plugins/dev/install',
      {
        schema: {
          tags,
          summary: 'Stop a dev-installed plugin and remove its files (data on request)',
          body: DevUninstallBodySchema,
        },
      },
      async (req, reply) => {
        await dev.uninstall(principalOf(req), req.body);
        return reply.status(204).send();
      },
    );
  });
}
