import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  InstallConfigSchema,
  InstallSchema,
  InstalledPluginSchema,
  LogPageSchema,
  LogQuerySchema,
  type Manifest,
  PxError,
  DEFAULT_RESOURCES,
} from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import type { PluginRow } from '../../plugins/plugin-repository.ts';
import { installResponse } from './install-routes.ts';

const Params = Type.Object({ tenant: Type.String(), plugin: Type.String() });
const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'answer when the operation is running or failed' })),
});

export function registerPluginRoutes(base: FastifyInstance, s: CoreServices): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  async function view(row: PluginRow) {
    const active = await s.db
      .selectFrom('installs')
      .select(['manifest', 'error_code', 'error_stage', 'error_message', 'error_hint'])
      .where('id', '=', row.active_install_id)
      .executeTakeFirst();
    const manifest = active?.manifest ? (JSON.parse(active.manifest) as Manifest) : undefined;
    const instance = s.pipeline.servingInstance(row.tenant_id, row.plugin_id);
    const stored = await s.db
      .selectFrom('plugin_storage_usage')
      .select('bytes')
      .where('tenant_id', '=', row.tenant_id)
      .where('plugin_id', '=', row.plugin_id)
      .executeTakeFirst();
    return {
      tenant: row.tenant_id,
      pluginId: row.plugin_id,
      name: manifest?.name ?? row.plugin_id,
      version: row.active_version,
      status:
        instance && instance.state !== 'ready' && row.status === 'running' ? instance.state : row.status,
      activeInstallId: row.active_install_id,
      ...(row.last_stable_version
        ? { lastStableVersion: row.last_stable_version, lastStableInstallId: row.last_stable_install_id! }
        : {}),
      entryUrl: s.entryUrl(row.tenant_id, row.plugin_id),
      memoryMb: row.memory_mb,
      diskMb: row.disk_mb,
      storage: {
        usedBytes: Number(stored?.bytes ?? 0),
        limitMb: manifest?.resources.storageMb ?? DEFAULT_RESOURCES.storageMb,
      },
      installedAt: row.installed_at,
      updatedAt: row.updated_at,
      // Why a failed plugin is failed (e.g. CRASH_LOOP / QUOTA_* while serving, with no stable version to restore).
      ...(row.status === 'failed' && active?.error_code
        ? {
            failure: {
              code: active.error_code,
              stage: active.error_stage ?? 'running',
              message: active.error_message ?? '',
              hint: active.error_hint ?? '',
              installId: row.active_install_id,
            },
          }
        : {}),
      ...(instance
        ? {
            instance: {
              id: instance.id,
              state: instance.state,
              ...(instance.pid !== undefined ? { pid: instance.pid } : {}),
              restarts: instance.restarts,
              isolation: instance.isolation,
              usage: instance.usage,
            },
          }
        : {}),
    };
  }

  app.get(
    '/api/tenants/:tenant/plugins',
    {
      schema: {
        tags: ['plugins'],
        summary: 'Plugins installed in a tenant',
        params: Type.Object({ tenant: Type.String() }),
        response: { 200: Type.Object({ plugins: Type.Array(InstalledPluginSchema) }) },
      },
    },
    async (req) => {
      await s.tenants.assertReadAccess(principalOf(req), req.params.tenant);
      const rows = await s.plugins.listTenant(req.params.tenant);
      return { plugins: await Promise.all(rows.map(view)) };
    },
  );

  app.get(
    '/api/tenants/:tenant/plugins/:plugin',
    {
      schema: {
        tags: ['plugins'],
        summary: 'One installed plugin, with its instance',
        params: Params,
        response: { 200: InstalledPluginSchema },
      },
    },
    async (req) => {
      await s.tenants.assertReadAccess(principalOf(req), req.params.tenant);
      const row = await s.plugins.get(req.params.tenant, req.params.plugin);
      if (!row)
        throw new PxError('PLUGIN_NOT_FOUND', { plugin: req.params.plugin, tenant: req.params.tenant });
      return view(row);
    },
  );

  app.post(
    '/api/tenants/:tenant/plugins/:plugin/rollback',
    {
      schema: {
        tags: ['plugins'],
        summary: 'Serve the last stable version again',
        params: Params,
        querystring: WaitQuery,
        response: { 200: InstallSchema, 202: InstallSchema },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await s.tenants.assertDevAccess(p, req.params.tenant);
      const row = await s.pipeline.rollbackToStable(p, req.params.tenant, req.params.plugin);
      return installResponse(s, reply, row.id, req.query.wait === true);
    },
  );

  app.put(
    '/api/tenants/:tenant/plugins/:plugin/config',
    {
      schema: {
        tags: ['plugins'],
        summary: 'Reconfigure: restart with new values, roll back if unhealthy',
        params: Params,
        querystring: WaitQuery,
        body: InstallConfigSchema,
        response: { 200: InstallSchema, 202: InstallSchema },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await s.tenants.assertDevAccess(p, req.params.tenant);
      const row = await s.pipeline.reconfigure(p, req.params.tenant, req.params.plugin, req.body);
      return installResponse(s, reply, row.id, req.query.wait === true);
    },
  );

  app.delete(
    '/api/tenants/:tenant/plugins/:plugin',
    {
      schema: {
        tags: ['plugins'],
        summary: 'Uninstall: stop it and remove its files, data, secrets and rows',
        params: Params,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await s.tenants.assertDevAccess(p, req.params.tenant);
      await s.pipeline.uninstall(p, req.params.tenant, req.params.plugin, {
        force: req.query.force === true,
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/tenants/:tenant/plugins/:plugin/logs',
    {
      schema: {
        tags: ['plugins'],
        summary: 'Log lines of a plugin (follow with ?after=<lastId>)',
        params: Params,
        querystring: LogQuerySchema,
        response: { 200: LogPageSchema },
      },
    },
    async (req) => {
      const p = principalOf(req);
      await s.tenants.assertReadAccess(p, req.params.tenant);
      // Following polls often: audit the first read of a follow, not every poll.
      if (req.query.after === undefined)
        await s.audit.append({
          actor: p.username,
          tenant: req.params.tenant,
          action: 'plugin.logs.read',
          target: req.params.plugin,
          outcome: 'ok',
          details: { level: req.query.level ?? null },
        });
      return s.logs.query(req.params.tenant, req.params.plugin, {
        after: req.query.after,
        limit: req.query.limit,
        level: req.query.level,
      });
    },
  );
}
