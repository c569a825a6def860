/**
 * The web Admin (packages/admin, built by `npm run build`) at /admin: files from
 * packages/admin/dist, and index.html for every other /admin/… path that accepts HTML, so deep
 * links and reloads work in the single-page app. /admin is public (see auth-hook.ts); the app
 * signs in against /api itself.
 *
 * Also `GET /api/tenants/:tenant/admin-pages`: the admin menus that the tenant's installed
 * plugins declare in their manifest (`admin.menus`), so the Admin can list them in its
 * navigation. The pages themselves are the plugin's static admin frontend, expected under its
 * test entry point at `/_p/<tenant>/<plugin>/_admin/<route>`.
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AdminMenuSchema, NotFoundError, type Manifest } from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';

const DEFAULT_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../admin/dist');

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PowerX Admin</title><link rel="icon" href="data:,"></head>
<body style="font:15px system-ui;margin:3rem"><h1>The Admin is not built</h1>
<p>Run <code>npm run build</code> at the repository root, then reload this page.</p></body></html>`;

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

export function registerAdminStaticRoutes(app: FastifyInstance, s: CoreServices, opts: { distDir?: string } = {}): void {
  const distDir = opts.distDir ?? process.env.PX_ADMIN_DIST ?? DEFAULT_DIST;

  void app.register(
    async (scope) => {
      const built = await access(join(distDir, 'index.html')).then(() => true, () => false);
      const sendIndex = async (reply: FastifyReply) => {
        // Read per request: a rebuild while core runs is picked up without a restart.
        const html = await readFile(join(distDir, 'index.html'), 'utf8').catch(() => NOT_BUILT);
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
      };
      if (built) {
        await scope.register(fastifyStatic, {
          root: distDir,
          prefix: '/',
          index: false,
          wildcard: true,
          // Hashed file names under assets/ never change; index.html is sent with no-cache above.
          setHeaders: (reply, path) => void reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
        });
      }
      scope.get('/', { schema: { hide: true } }, async (_req, reply) => sendIndex(reply));
      scope.setNotFoundHandler(async (request, reply) => {
        if (wantsHtml(request)) return sendIndex(reply);
        const error = new NotFoundError('NOT_FOUND', { what: `Admin file ${request.url.split('?')[0]}` });
        return reply.status(404).send(error.toJSON());
      });
    },
    { prefix: '/admin' },
  );

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/api/tenants/:tenant/admin-pages',
    {
      schema: {
        tags: ['plugins'],
        summary: "Admin pages declared by the tenant's plugins (manifest admin.menus)",
        params: Type.Object({ tenant: Type.String() }),
        response: {
          200: Type.Object({
            plugins: Type.Array(Type.Object({ pluginId: Type.String(), name: Type.String(), pagesUrl: Type.String(), menus: Type.Array(AdminMenuSchema) })),
          }),
        },
      },
    },
    async (req) => {
      await s.tenants.assertReadAccess(principalOf(req), req.params.tenant);
      const rows = await s.db
        .selectFrom('plugins')
        .innerJoin('installs', 'installs.id', 'plugins.active_install_id')
        .select(['plugins.plugin_id as pluginId', 'installs.manifest as manifest'])
        .where('plugins.tenant_id', '=', req.params.tenant)
        .orderBy('plugins.plugin_id')
        .execute();
      const plugins = rows.flatMap((row) => {
        if (!row.manifest) return [];
        const manifest = JSON.parse(row.manifest) as Manifest;
        const menus = manifest.admin?.menus ?? [];
        if (!menus.length) return [];
        return [{ pluginId: row.pluginId, name: manifest.name, pagesUrl: `/_p/${encodeURIComponent(req.params.tenant)}/${encodeURIComponent(row.pluginId)}/_admin`, menus }];
      });
      return { plugins };
    },
  );
}
