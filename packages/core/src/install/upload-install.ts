/**
 * An install from an uploaded package (and a dev reload, which packs the developer's build and
 * comes the same way): received → validating (validation-stage.ts) → awaiting_config
 * (awaiting-config.ts) → provisioning → … (provisioning.ts). Any failure rolls back.
 */
import { rm } from 'node:fs/promises';
import type { InstallConfig } from '@powerx/protocol';
import type { Principal } from '../identity/principal.ts';
import { withLogContext } from '../logging/log-context.ts';
import type { InstallRow } from './install-store.ts';
import { stageOf, type PipelineContext } from './pipeline-context.ts';
import { DEV_FLOW, UPLOAD_FLOW, flowPolicy } from './flow-policy.ts';
import { validateUpload } from './validation-stage.ts';
import { resolveUploadConfig } from './awaiting-config.ts';
import { provisionAndActivate } from './provisioning.ts';
import { rollbackInstall } from './install-rollback.ts';

export interface UploadInstallInput {
  principal: Principal;
  tenant: string;
  uploadPath: string;
  packageBytes: number;
  config: InstallConfig;
  idempotencyKey?: string;
  /** A dev reload (`px-plugin dev`): see flow-policy.ts for what differs. */
  dev?: boolean;
}

/** Creates the install (state received) and runs the pipeline in the background. */
export async function startUploadInstall(
  ctx: PipelineContext,
  input: UploadInstallInput,
): Promise<InstallRow> {
  const { d } = ctx;
  const row = await d.store.create({
    kind: 'install',
    tenant: input.tenant,
    actorId: input.principal.userId,
    idempotencyKey: input.idempotencyKey,
    packageBytes: input.packageBytes,
    flow: (input.dev ? DEV_FLOW : UPLOAD_FLOW).flow,
  });
  await d.audit.append({
    actor: input.principal.username,
    tenant: input.tenant,
    action: 'plugin.package.upload',
    target: row.id,
    outcome: 'ok',
    details: { bytes: input.packageBytes },
  });
  await ctx.stages.announce(row.id);
  ctx.tasks.track(
    withLogContext({ installId: row.id }, () => runUpload(ctx, row, input)),
    row.id,
  );
  return row;
}

async function runUpload(ctx: PipelineContext, row: InstallRow, input: UploadInstallInput): Promise<void> {
  const { d } = ctx;
  const { id } = row;
  const { principal, uploadPath } = input;
  const flow = flowPolicy(row.flow);
  let stage = 'validating';
  const started = performance.now();
  try {
    await ctx.stages.transition(id, 'validating');
    const tenant = await d.tenants.require(row.tenant_id);
    const manifest = await validateUpload(ctx, { id, principal, tenant, uploadPath, flow });
    stage = 'awaiting_config';
    const resolved = await resolveUploadConfig(ctx, {
      id,
      actor: principal.username,
      tenant: tenant.id,
      manifest,
      config: input.config,
      uploadPath,
      flow,
    });
    if (!resolved) return; // waits for the wizard
    await provisionAndActivate(ctx, { id, actor: principal.username, resolved, uploadPath, started });
  } catch (error) {
    await rollbackInstall(ctx, {
      id,
      stage: stageOf(error, stage),
      cause: error,
      actor: principal.username,
      started,
    });
  } finally {
    await rm(uploadPath, { force: true });
  }
}
