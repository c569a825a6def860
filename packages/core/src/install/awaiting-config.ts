/**
 * The awaiting_config stage: the wizard's values are resolved against the manifest; with values
 * missing, an upload parks here (persisted, its package blob kept) until POST
 * /api/installs/:id/config completes it, it is cancelled, or it expires; a dev reload fails.
 */
import { ConflictError, NotFoundError, PxError, type InstallConfig, type Manifest } from '@powerx/protocol';
import type { Principal } from '../identity/principal.ts';
import type { InstallRow } from './install-store.ts';
import { StageError, startedAt, type PipelineContext } from './pipeline-context.ts';
import type { FlowPolicy } from './flow-policy.ts';
import { resolveConfig, type ResolvedConfig } from './wizard.ts';
import { configAuditDetails, openConfig, saveConfig, servingConfig } from './stored-config.ts';
import { rollbackInstall } from './install-rollback.ts';

/**
 * Resolves the config of install `id`. Returns it when complete; undefined when the install now
 * waits for wizard values (the package is kept as blob `<id>.pxp`).
 */
export async function resolveUploadConfig(
  ctx: PipelineContext,
  input: {
    id: string;
    actor: string;
    tenant: string;
    manifest: Manifest;
    config: InstallConfig;
    uploadPath: string;
    flow: FlowPolicy;
  },
): Promise<ResolvedConfig | undefined> {
  const { d } = ctx;
  const { id, tenant, manifest, flow } = input;
  await ctx.stages.transition(id, 'awaiting_config');
  const base = flow.carriesConfigOver ? await servingConfig(d, tenant, manifest.id) : undefined;
  const resolved = resolveConfig(manifest, input.config, base);
  await saveConfig(d, id, resolved);
  await d.audit.append({
    actor: input.actor,
    tenant,
    action: 'plugin.config.submit',
    target: manifest.id,
    outcome: resolved.missing.length ? 'started' : 'ok',
    details: configAuditDetails(id, resolved),
  });
  if (!resolved.missing.length) return resolved;
  if (flow.missingConfigHint !== undefined)
    throw new PxError(
      'CONFIG_REQUIRED_MISSING',
      { names: resolved.missing.join(', ') },
      { hint: flow.missingConfigHint },
    );
  // The upload file itself is removed when the install's task ends: keep the package as a blob.
  await d.blobs.put(`${id}.pxp`, input.uploadPath);
  await ctx.stages.markWaiting(id);
  return undefined;
}

/**
 * Completes the wizard of an install waiting in awaiting_config. Returns the resolved config and
 * when the install started; the caller continues with provisioning.
 */
export async function submitWaitingConfig(
  ctx: PipelineContext,
  principal: Principal,
  installId: string,
  input: InstallConfig,
): Promise<{ resolved: ResolvedConfig; started: number }> {
  const { d } = ctx;
  const row = await d.store.get(installId);
  if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId });
  await d.tenants.assertDevAccess(principal, row.tenant_id);
  if (row.state !== 'awaiting_config')
    throw new ConflictError(
      'BAD_REQUEST',
      { detail: `Install ${installId} is ${row.state}, not awaiting_config` },
      { hint: 'Only an install waiting for configuration takes wizard values.' },
    );
  const manifest = JSON.parse(row.manifest!) as Manifest;
  let resolved: ResolvedConfig;
  try {
    resolved = resolveConfig(manifest, input, openConfig(d.secrets, row));
  } catch (error) {
    await d.audit.append({
      actor: principal.username,
      tenant: row.tenant_id,
      action: 'plugin.config.submit',
      target: row.plugin_id,
      outcome: 'failed',
      details: {
        installId,
        code: (error as PxError).code,
        env: Object.keys(input.env ?? {}),
        secrets: Object.keys(input.secrets ?? {}),
      },
    });
    throw error;
  }
  await saveConfig(d, installId, resolved);
  await d.audit.append({
    actor: principal.username,
    tenant: row.tenant_id,
    action: 'plugin.config.submit',
    target: row.plugin_id,
    outcome: resolved.missing.length ? 'started' : 'ok',
    details: configAuditDetails(installId, resolved),
  });
  if (resolved.missing.length)
    throw new PxError(
      'CONFIG_REQUIRED_MISSING',
      { names: resolved.missing.join(', ') },
      { hint: 'Provide the values in the install wizard, with --env / --secret, or a --config file.' },
    );
  await ctx.stages.resumeFromWaiting(installId);
  return { resolved, started: startedAt(row.created_at) };
}

/** Cancels an install waiting in awaiting_config: rolled back like any failure, with INSTALL_CANCELLED. */
export async function cancelInstall(
  ctx: PipelineContext,
  principal: Principal,
  installId: string,
): Promise<void> {
  const row = await ctx.d.store.get(installId);
  if (!row) throw new NotFoundError('INSTALL_NOT_FOUND', { installId });
  await ctx.d.tenants.assertDevAccess(principal, row.tenant_id);
  if (row.state !== 'awaiting_config' || !(await ctx.stages.isWaitingForConfig(installId))) {
    throw new ConflictError(
      'BAD_REQUEST',
      {
        detail: `Install ${installId} is ${row.state}; only an install waiting for configuration can be cancelled`,
      },
      { hint: 'Wait for it to finish; then roll back or uninstall.' },
    );
  }
  await cancelWaiting(ctx, row, principal.username, `cancelled by ${principal.username}`);
}

/**
 * Installs left waiting for configuration longer than `maxAgeMs` are cancelled: they hold quota
 * and the plugin's install slot, and nobody is coming back for them.
 */
export async function expireWaiting(ctx: PipelineContext, maxAgeMs: number, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - maxAgeMs).toISOString();
  const stale = await ctx.d.db
    .selectFrom('installs')
    .selectAll()
    .where('state', '=', 'awaiting_config')
    .where('created_at', '<', cutoff)
    .execute();
  let expired = 0;
  for (const row of stale) {
    if (!(await ctx.stages.isWaitingForConfig(row.id))) continue;
    await cancelWaiting(
      ctx,
      row,
      'system',
      `it waited more than ${Math.round(maxAgeMs / 3_600_000)} h for configuration`,
    );
    expired++;
  }
  return expired;
}

export async function cancelWaiting(
  ctx: PipelineContext,
  row: InstallRow,
  actor: string,
  reason: string,
): Promise<void> {
  const error = new PxError('INSTALL_CANCELLED', { reason, installId: row.id });
  await rollbackInstall(ctx, {
    id: row.id,
    stage: 'awaiting_config',
    cause: new StageError('awaiting_config', error),
    actor,
    started: startedAt(row.created_at),
  });
}
