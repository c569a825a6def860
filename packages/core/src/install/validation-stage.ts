/**
 * The validating stage of an upload install: the shared upload checks (upload-checks.ts), their
 * report kept on the install row, the outcome audited; then, under the tenant lock, the plugin
 * is claimed for this install and the tenant checks run, so two installs can neither both pass
 * the quota nor both install the same plugin.
 */
import {
  ConflictError,
  PxError,
  type ErrorCode,
  type Manifest,
  type ValidationCheck,
} from '@powerx/protocol';
import type { Principal } from '../identity/principal.ts';
import { SIGNATURE_FAILURE_CODES } from '../metrics/signature-outcome.ts';
import type { PipelineContext } from './pipeline-context.ts';
import type { FlowPolicy } from './flow-policy.ts';
import { checkPackage, checkTenantFit, firstFailure, type UploadTenant } from './upload-checks.ts';
import { cancelWaiting } from './awaiting-config.ts';

export async function validateUpload(
  ctx: PipelineContext,
  input: { id: string; principal: Principal; tenant: UploadTenant; uploadPath: string; flow: FlowPolicy },
): Promise<Manifest> {
  const { d } = ctx;
  const { id, principal, tenant, flow } = input;
  const report = await checkPackage(d, {
    packagePath: input.uploadPath,
    tenant,
    principal,
    flow,
    keepStaging: true,
  });
  if (report.stagingDir) await d.store.update(id, { staging_dir: d.paths.toStored(report.stagingDir) });
  await d.store.update(id, {
    package_sha256: report.packageSha256 ?? null,
    signer_key_id: report.signer?.keyId ?? null,
    unsigned: report.signer ? 0 : 1,
    report: JSON.stringify({ checks: report.checks }),
  });
  d.metrics.recordSignatureOutcome(tenant.id, report);
  const failed = firstFailure(report.checks);
  if (!report.ok || !report.manifest || failed) {
    await d.audit.append({
      actor: principal.username,
      tenant: tenant.id,
      action: 'plugin.package.validate',
      target: report.manifest?.id ?? id,
      outcome: 'failed',
      details: {
        installId: id,
        signer: report.signer?.keyId ?? null,
        failed: report.checks.filter((c) => !c.ok && c.code).map((c) => c.code),
      },
    });
    if (failed?.code && SIGNATURE_FAILURE_CODES.has(failed.code)) d.metrics.signatureFailures.inc();
    throw checkError(failed);
  }
  const manifest = report.manifest;
  if (!report.signer) {
    await d.audit.append({
      actor: principal.username,
      tenant: tenant.id,
      action: 'plugin.package.unsigned_accepted',
      target: manifest.id,
      outcome: 'ok',
      details: { installId: id, reason: flow.unsignedReason },
    });
  }
  await ctx.tenantLock.run(tenant.id, async () => {
    const checks: ValidationCheck[] = [...report.checks];
    const other = await claimPlugin(ctx, tenant.id, manifest.id, id, principal.username);
    if (other) {
      const e = new ConflictError('INSTALL_IN_PROGRESS', {
        plugin: manifest.id,
        tenant: tenant.id,
        installId: other,
      });
      checks.push({
        id: 'tenant.serialized',
        title: 'No other install of this plugin is running',
        ok: false,
        code: e.code,
        message: e.message,
        hint: e.hint,
      });
      await d.store.update(id, {
        plugin_id: manifest.id,
        version: manifest.version,
        report: JSON.stringify({ checks }),
      });
      throw e;
    }
    checks.push(
      ...(await checkTenantFit(d, { tenant: tenant.id, manifest, packageChecks: checks, installId: id })),
    );
    const bad = checks.find((c) => !c.ok);
    await d.store.update(id, {
      plugin_id: manifest.id,
      version: manifest.version,
      report: JSON.stringify({ checks }),
      ...(bad ? {} : { manifest: JSON.stringify(manifest) }),
    });
    await d.audit.append({
      actor: principal.username,
      tenant: tenant.id,
      action: 'plugin.package.validate',
      target: manifest.id,
      outcome: bad ? 'failed' : 'ok',
      details: {
        installId: id,
        version: manifest.version,
        signer: report.signer?.keyId ?? null,
        failed: checks.filter((c) => !c.ok).map((c) => c.code),
      },
    });
    if (bad) throw checkError(bad);
  });
  return manifest;
}

/**
 * Another unfinished install of the plugin, if any. One only waiting for wizard values is not
 * installing anything: a new upload supersedes (cancels) it.
 */
async function claimPlugin(
  ctx: PipelineContext,
  tenant: string,
  pluginId: string,
  id: string,
  actor: string,
): Promise<string | undefined> {
  let other = await ctx.d.store.otherInFlight(tenant, pluginId, id);
  if (other?.state === 'awaiting_config' && (await ctx.stages.isWaitingForConfig(other.id))) {
    await cancelWaiting(ctx, other, actor, `superseded by install ${id}`);
    other = await ctx.d.store.otherInFlight(tenant, pluginId, id);
  }
  return other?.id;
}

function checkError(check: ValidationCheck | undefined): PxError {
  if (!check?.code) return new PxError('INTERNAL', { ref: 'validator reported failure without a check' });
  return new PxError(check.code as ErrorCode, {}, { message: check.message, hint: check.hint ?? '' });
}
