/**
 * The web Admin (packages/admin, built by `npm run build`) at /admin: files from
 * packages/admin/dist, and index.html for every other /admin/… path that accepts HTML, so deep
 * links and reloads work in the single-page app. /admin is public (see auth-hook.ts); the app
 * signs in against /api itself.
 *
 * Also `GET /api/tenants/:tenant/admin-pages`: the admin menus that the tenant's installed
 * plugins declare in their manifest (`admin.menus`), so the Admin can list them in its
 * navigation. The pages themselves are the plugin's static admin frontend (`admin.staticDir` of
 * the serving version), under its test entry point at `/_p/<tenant>/<plugin>/_admin/<route>`:
 * `servePluginAdminPage` below answers those, and is called by the entry point hook in
 * server.ts before a request is proxied to the plugin.
 */
import { access, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AdminMenuSchema, NotFoundError } from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import { entryPath } from '../entry-url.ts';

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PowerX Admin</title><link rel="icon" href="data:,"></head>
<body style="font:15px system-ui;margin:3rem"><h1>The Admin is not built</h1>
<p>Run <code>npm run build</code> at the repository root, then reload this page.</p></body></html>`;

const ADMIN_POLICY = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

export function registerAdminStaticRoutes(
  app: FastifyInstance,
  s: CoreServices,
  opts: { distDir?: string } = {},
): void {
  const distDir = opts.distDir ?? s.config.adminDist;

  void app.register(
    async (scope) => {
      // No page may frame the Admin (clickjacking its buttons under a decoy); its own frames of
      // plugin pages are not affected. Plugin pages are sandboxed on their side (entry point).
      scope.addHook('onSend', async (_request, reply, payload) => {
        reply.header('x-frame-options', 'DENY');
        reply.header('content-security-policy', ADMIN_POLICY);
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'same-origin');
        return payload;
      });
      const built = await access(join(distDir, 'index.html')).then(
        () => true,
        () => false,
      );
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
          setHeaders: (reply, path) =>
            void reply.header(
              'cache-control',
              path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
            ),
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
            plugins: Type.Array(
              Type.Object({
                pluginId: Type.String(),
                name: Type.String(),
                pagesUrl: Type.String(),
                menus: Type.Array(AdminMenuSchema),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      await s.tenants.assertReadAccess(principalOf(req), req.params.tenant);
      const rows = await s.plugins.withActiveManifests(req.params.tenant);
      const plugins = rows.flatMap(({ pluginId, manifest }) => {
        if (!manifest) return [];
        const menus = manifest.admin?.menus ?? [];
        if (!menus.length) return [];
        return [
          {
            pluginId,
            name: manifest.name,
            pagesUrl: `${entryPath(req.params.tenant, pluginId)}_admin`,
            menus,
          },
        ];
      });
      return { plugins };
    },
  );
}

const ADMIN_PREFIX = '/_admin';
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

function sendError(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Serves `/_p/<tenant>/<plugin>/_admin/<path>` from the `admin.staticDir` of the plugin's serving
 * version (read-only version folder; a path that leaves it, or a link out of it, is refused).
 * Returns false when `path` is not under `/_admin` (the request goes to the plugin as usual).
 * Public like the entry point itself: these are the static files shipped in the package.
 * Directory paths answer their index.html; an unknown path answers 404 with a hint.
 */
export async function servePluginAdminPage(
  s: CoreServices,
  res: ServerResponse,
  target: { tenant: string; pluginId: string; path: string; method: string },
): Promise<boolean> {
  const pathOnly = target.path.split('?')[0];
  if (pathOnly !== ADMIN_PREFIX && !pathOnly.startsWith(`${ADMIN_PREFIX}/`)) return false;
  if (pathOnly === ADMIN_PREFIX) {
    // Relative links in the pages resolve against the folder: always serve it with its slash.
    res.writeHead(308, { location: '_admin/' });
    res.end();
    return true;
  }
  const notFound = (what: string, hint: string) =>
    sendError(res, 404, new NotFoundError('NOT_FOUND', { what }, { hint }).toJSON());
  if (target.method !== 'GET' && target.method !== 'HEAD') {
    sendError(res, 405, {
      code: 'BAD_REQUEST',
      message: 'Plugin admin pages are static: GET only',
      hint: "Call the plugin's own routes for anything else.",
    });
    return true;
  }
  const row = await s.plugins.activeManifestAndDir(target.tenant, target.pluginId);
  const manifest = row?.manifest;
  const staticDir = manifest?.admin?.staticDir?.replace(/^\.\//, '').replace(/\/+$/, '');
  if (!row?.versionDir || !manifest || !staticDir) {
    notFound(
      `Admin pages of ${target.pluginId} in ${target.tenant}`,
      'The plugin is not installed here, or its manifest declares no admin.staticDir.',
    );
    return true;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(pathOnly.slice(ADMIN_PREFIX.length)).replace(/^\/+/, '');
  } catch {
    notFound(`Admin page ${pathOnly}`, 'The path is not valid URL encoding.');
    return true;
  }
  const root = await realpath(join(s.paths.resolve(row.versionDir), staticDir)).catch(() => undefined);
  if (!root) {
    notFound(
      `Admin folder ${staticDir} of ${target.pluginId}`,
      `The package has no ${staticDir}/ folder; add it to the plugin and rebuild.`,
    );
    return true;
  }
  let file = resolve(root, rel);
  const inside = (p: string) => p === root || p.startsWith(root + sep);
  if (!inside(file)) {
    notFound(`Admin page ${pathOnly}`, "Paths outside the plugin's admin folder are not served.");
    return true;
  }
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) file = join(file, 'index.html');
  const real = await realpath(file).catch(() => undefined);
  if (!real || !inside(real) || !(await stat(real)).isFile()) {
    notFound(
      `Admin page ${pathOnly} of ${target.pluginId}`,
      `Add it under ${staticDir}/ in the plugin, rebuild and reinstall.`,
    );
    return true;
  }
  const body = await readFile(real);
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(target.method === 'HEAD' ? undefined : body);
  return true;
}
