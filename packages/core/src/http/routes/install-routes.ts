import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { rm } from 'node:fs/promises';
import {
  InputError,
  InstallConfigSchema,
  InstallListSchema,
  InstallSchema,
  NotFoundError,
  PxError,
  ValidateResponseSchema,
  type ErrorCode,
  type InstallConfig,
  type ProductionParity,
  type ValidationCheck,
  type AuditAction,
} from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';
import { receivePackageUpload } from '../upload.ts';
import { tenantUsage } from '../../install/tenant-checks.ts';
import { checkPackage, checkTenantFit } from '../../install/upload-checks.ts';
import { UPLOAD_FLOW } from '../../install/flow-policy.ts';
import { wizardOf } from '../../install/wizard.ts';
import { parityCheck, productionParity } from '../../install/production-parity.ts';
import type { Principal } from '../../identity/principal.ts';

const configCheck = Compile(InstallConfigSchema);

function parseConfigField(raw: string | undefined): InstallConfig {
  if (raw === undefined || raw === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InputError(
      'BAD_REQUEST',
      { detail: 'The "config" field is not JSON' },
      { hint: 'Send config as JSON: {"env":{…},"secrets":{…},"logLevel":"info"}.' },
    );
  }
  if (!configCheck.Check(value)) {
    const first = [...configCheck.Errors(value)][0];
    throw new InputError('BAD_REQUEST', {
      detail: `config${first?.instancePath?.replaceAll('/', '.') ?? ''} ${first?.message ?? 'is invalid'}`,
    });
  }
  return value;
}

/** Answers with the install: 202 while in progress, or (wait=true) once settled; failures as errors. */
export async function installResponse(s: CoreServices, reply: FastifyReply, id: string, wait: boolean) {
  const row = wait ? await s.pipeline.waitSettled(id) : await s.pipeline.store.get(id);
  if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId: id });
  if (wait && row.state === 'failed' && row.error_code) {
    throw new PxError(
      row.error_code as ErrorCode,
      { installId: id, stage: row.error_stage },
      { message: row.error_message ?? '', hint: row.error_hint ?? '' },
    );
  }
  const body = await s.pipeline.store.view(row, s.entryUrl);
  return reply.status(row.state === 'running' ? 200 : 202).send(body);
}

async function devAccess(s: CoreServices, p: Principal, tenant: string | undefined, action: AuditAction) {
  if (!tenant)
    throw new InputError(
      'BAD_REQUEST',
      { detail: 'The "tenant" field is missing' },
      { hint: 'Pass the tenant, e.g. --tenant sandbox-dev.' },
    );
  try {
    return await s.tenants.assertDevAccess(p, tenant);
  } catch (error) {
    await s.audit.append({
      actor: p.username,
      tenant,
      action,
      outcome: 'denied',
      details: { code: (error as PxError).code },
    });
    throw error;
  }
}

export function registerInstallRoutes(base: FastifyInstance, s: CoreServices): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const limitFor = (fields: Record<string, string>) =>
    fields.tenant
      ? Math.floor(s.limits.forTenant(fields.tenant).maxPackageMb * 1024 * 1024)
      : s.limits.maxPackageBytesAnyTenant();
  /**
   * Receives the upload; a refused one (over the size limit, bad multipart) is audited with the
   * tenant it was meant for, whether that came as ?tenant= or as the multipart field sent first.
   */
  const receiveAudited = async (req: FastifyRequest, p: Principal, action: AuditAction) => {
    let seen: Record<string, string> = {};
    const track = (fields: Record<string, string>) => {
      seen = fields;
      return limitFor(fields);
    };
    return receivePackageUpload(req, { uploadsDir: s.paths.uploads, limitFor: track }).catch(
      async (error: unknown) => {
        const tenant = seen.tenant ?? (req.query as { tenant?: string }).tenant ?? null;
        // On a full disk the audit cannot be written either: the caller still gets the upload's own error.
        await s.audit
          .append({
            actor: p.username,
            tenant,
            action,
            outcome: 'failed',
            details: { code: (error as PxError).code ?? 'BAD_REQUEST' },
          })
          .catch((auditError: unknown) => req.log.warn({ err: auditError }, 'refused upload not audited'));
        throw error;
      },
    );
  };

  app.post(
    '/api/plugins/install/local',
    {
      schema: {
        tags: ['installs'],
        summary: 'Upload a .pxp into a sandbox tenant and install it',
        description:
          'multipart/form-data: `tenant` (field, send it first), `config` (JSON field: {env, secrets, logLevel}), `package` (file). Header `Idempotency-Key` makes retries safe. `?wait=true` answers when running, failed or waiting for configuration.',
        querystring: Type.Object({
          wait: Type.Optional(Type.Boolean()),
          tenant: Type.Optional(Type.String()),
        }),
        response: { 200: InstallSchema, 202: InstallSchema },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const idempotencyKey =
        typeof req.headers['idempotency-key'] === 'string'
          ? req.headers['idempotency-key'].slice(0, 200)
          : undefined;
      const upload = await receiveAudited(req, p, 'plugin.package.upload');
      let handedOver = false;
      try {
        if (idempotencyKey) {
          const existing = await s.pipeline.store.byIdempotencyKey(p.userId, idempotencyKey);
          if (existing) return await installResponse(s, reply, existing.id, req.query.wait === true);
        }
        const tenant = await devAccess(s, p, upload.fields.tenant, 'plugin.package.upload');
        const config = parseConfigField(upload.fields.config);
        const limits = s.limits.forTenant(tenant.id);
        const usage = await tenantUsage(s.db, tenant.id);
        if (usage.installsLastMinute >= limits.installsPerMinute) {
          await s.audit.append({
            actor: p.username,
            tenant: tenant.id,
            action: 'plugin.package.upload',
            outcome: 'denied',
            details: { code: 'QUOTA_EXCEEDED', quota: 'installs per minute' },
          });
          throw new PxError('QUOTA_EXCEEDED', {
            tenant: tenant.id,
            quota: 'installs per minute',
            detail: `${usage.installsLastMinute} installs in the last minute, limit ${limits.installsPerMinute}`,
          });
        }
        let row;
        try {
          row = await s.pipeline.startUploadInstall({
            principal: p,
            tenant: tenant.id,
            uploadPath: upload.path,
            packageBytes: upload.bytes,
            config,
            idempotencyKey,
          });
        } catch (error) {
          // Two retries with the same key raced: the unique index let one through; answer with it.
          const existing = idempotencyKey
            ? await s.pipeline.store.byIdempotencyKey(p.userId, idempotencyKey)
            : undefined;
          if (existing) return await installResponse(s, reply, existing.id, req.query.wait === true);
          throw error;
        }
        handedOver = true;
        return await installResponse(s, reply, row.id, req.query.wait === true);
      } finally {
        if (!handedOver) await rm(upload.path, { force: true });
      }
    },
  );

  app.get(
    '/api/installs/:id',
    {
      schema: {
        tags: ['installs'],
        summary: 'One install with its stages, checks, wizard and error',
        params: Type.Object({ id: Type.String() }),
        response: { 200: InstallSchema },
      },
    },
    async (req) => {
      const row = await s.pipeline.store.get(req.params.id);
      if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId: req.params.id });
      await s.tenants.assertReadAccess(principalOf(req), row.tenant_id);
      return s.pipeline.store.view(row, s.entryUrl);
    },
  );

  app.get(
    '/api/installs',
    {
      schema: {
        tags: ['installs'],
        summary: 'Recent installs of a tenant',
        querystring: Type.Object({
          tenant: Type.String(),
          plugin: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
        response: { 200: InstallListSchema },
      },
    },
    async (req) => {
      await s.tenants.assertReadAccess(principalOf(req), req.query.tenant);
      const rows = await s.pipeline.store.list({
        tenant: req.query.tenant,
        pluginId: req.query.plugin,
        limit: req.query.limit,
      });
      return {
        installs: await Promise.all(rows.map((r) => s.pipeline.store.view(r, s.entryUrl))),
      };
    },
  );

  app.post(
    '/api/installs/:id/config',
    {
      schema: {
        tags: ['installs'],
        summary: 'Complete the wizard of an install waiting in awaiting_config',
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ wait: Type.Optional(Type.Boolean()) }),
        body: InstallConfigSchema,
        response: { 200: InstallSchema, 202: InstallSchema },
      },
    },
    async (req, reply) => {
      const row = await s.pipeline.submitConfig(principalOf(req), req.params.id, req.body);
      return installResponse(s, reply, row.id, req.query.wait === true);
    },
  );

  app.delete(
    '/api/installs/:id',
    {
      schema: {
        tags: ['installs'],
        summary: 'Cancel an install waiting in awaiting_config (everything it created is removed)',
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (req, reply) => {
      await s.pipeline.cancel(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/internal/plugins/packages/validate',
    {
      schema: {
        tags: ['installs'],
        summary: 'Dry run: every check of the package and of the tenant, and the wizard schema',
        description: 'multipart/form-data: `tenant` (field), `package` (file). Nothing is installed or kept.',
        querystring: Type.Object({ tenant: Type.Optional(Type.String()) }),
        response: { 200: ValidateResponseSchema },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const upload = await receiveAudited(req, p, 'plugin.package.validate');
      try {
        const tenant = await devAccess(s, p, upload.fields.tenant, 'plugin.package.validate');
        // The same checks as an install (install/upload-checks.ts); nothing is kept.
        const report = await checkPackage(s, {
          packagePath: upload.path,
          tenant,
          principal: p,
          flow: UPLOAD_FLOW,
          keepStaging: false,
        });
        const checks: ValidationCheck[] = [...report.checks];
        const manifest = report.manifest;
        // Unlike an install, the dry run goes on past a failed package check: one answer lists everything.
        if (manifest)
          checks.push(
            ...(await checkTenantFit(s, {
              tenant: tenant.id,
              manifest,
              packageChecks: checks,
              installId: '',
            })),
          );
        let parity: ProductionParity | undefined;
        if (manifest) {
          const quota = checks.find((c) => c.id === 'tenant.quota');
          const production = s.limits.productionFor(tenant.id);
          parity = await productionParity(s.db, {
            manifest,
            packageBytes: upload.bytes,
            sandbox: tenant.id,
            fitsSandbox: quota?.ok === true && upload.bytes <= limitFor({ tenant: tenant.id }),
            production,
            limits: s.limits.forTenant(production),
          });
          checks.push(parityCheck(parity));
        }
        // A warning (production parity) informs; it does not fail the report.
        const ok = checks.every((c) => c.ok || c.warning === true);
        await s.audit.append({
          actor: p.username,
          tenant: tenant.id,
          action: 'plugin.package.validate',
          target: manifest?.id ?? null,
          outcome: ok ? 'ok' : 'failed',
          details: {
            dryRun: true,
            bytes: upload.bytes,
            failed: checks.filter((c) => !c.ok).map((c) => c.code),
            ...(parity ? { production: parity.summary } : {}),
          },
        });
        return {
          ok,
          checks,
          ...(manifest ? { manifest, wizard: wizardOf(manifest) } : {}),
          ...(report.signer ? { signer: report.signer } : {}),
          ...(report.packageSha256 ? { packageSha256: report.packageSha256 } : {}),
          durationMs: report.durationMs,
          ...(parity ? { production: parity } : {}),
        };
      } finally {
        await rm(upload.path, { force: true });
      }
    },
  );
}
