/**
 * starting → health_check → seeding → running for an install whose version folder, manifest,
 * config and secrets are set: a new instance is started next to the serving one, passes its
 * health gate, gets its test data, and is switched in (switch-transaction.ts). Upload installs,
 * reconfigure and "roll back to last stable" all come through here.
 */
import { DEFAULT_RESOURCES, PxError, type Manifest } from '@powerx/protocol';
import type { InstanceInfo } from '@powerx/runtime';
import { StageError, toPxError, type PipelineContext, type StartingInstance } from './pipeline-context.ts';
import { openConfig } from './stored-config.ts';
import { switchIn } from './switch-transaction.ts';
import { startSpecOf } from './start-spec.ts';

export async function activate(
  ctx: PipelineContext,
  input: { id: string; seed: boolean; started: number },
): Promise<void> {
  const { d } = ctx;
  const { id } = input;
  let stage = 'starting';
  const row = (await d.store.get(id))!;
  const manifest = JSON.parse(row.manifest!) as Manifest;
  const tenant = row.tenant_id;
  const pluginId = row.plugin_id!;
  const config = openConfig(d.secrets, row);
  const entry: StartingInstance = {};
  try {
    await ctx.stages.transition(id, 'starting');
    ctx.starting.set(id, entry);
    const spec = await startSpecOf(d, row, manifest, config);
    let info: InstanceInfo;
    try {
      info = await d.supervisor.start(spec, {
        onPhase: (phase, instance) => {
          entry.instanceId = instance.id;
          if (phase === 'health_check') healthGateEntered(ctx, id, instance);
        },
      });
    } finally {
      if (entry.healthSeen) {
        await entry.healthSeen;
        stage = 'health_check';
      }
    }
    entry.instanceId = info.id;
    await d.store.update(id, { instance_id: info.id, instance_pid: info.pid ?? null });
    stage = 'health_check';
    if (!entry.healthSeen) await ctx.stages.transition(id, 'health_check');
    if (ctx.closing()) throw new PxError('INSTALL_INTERRUPTED', { stage });

    stage = 'seeding';
    await ctx.stages.transition(id, 'seeding');
    if (input.seed) await seed(ctx, { id, tenant, pluginId, manifest, instanceId: info.id });

    stage = 'running';
    await switchIn(ctx, { id, row, manifest, started: input.started });
    ctx.starting.delete(id);
  } catch (error) {
    const instanceId = entry.instanceId;
    ctx.starting.delete(id);
    if (instanceId)
      await d.supervisor.stop(instanceId, { reason: 'install rolled back', graceMs: 1000 }).catch(() => {});
    throw error instanceof StageError
      ? error
      : new StageError(stage, toPxError(error, d.log, stage === 'seeding' ? 'SEED_FAILED' : undefined));
  }
}

/** The health gate of an instance being started for an install began: recorded as the health_check stage. */
function healthGateEntered(ctx: PipelineContext, installId: string, instance: InstanceInfo): void {
  const entry = ctx.starting.get(installId);
  if (!entry) return;
  entry.instanceId = instance.id;
  if (entry.healthSeen) return;
  entry.healthSeen = ctx.d.store
    .update(installId, { instance_id: instance.id, instance_pid: instance.pid ?? null })
    .then(() => ctx.stages.transition(installId, 'health_check'));
}

async function seed(
  ctx: PipelineContext,
  s: { id: string; tenant: string; pluginId: string; manifest: Manifest; instanceId: string },
): Promise<void> {
  const { d } = ctx;
  const { id, tenant, pluginId, manifest, instanceId } = s;
  // Generated data only on a first install (an upgrade keeps the data the plugin has).
  if (manifest.sandbox.testData.length && !(await d.storage.hasAnyDocs(tenant, pluginId))) {
    // Generated off core's heap and event loop (the schemas are the package's), and no more
    // than the plugin could store anyway.
    const data = await d.generateTestData(
      manifest.sandbox.testData,
      `${tenant}/${pluginId}/${manifest.version}`,
      { maxBytes: (manifest.resources.storageMb ?? DEFAULT_RESOURCES.storageMb) * 1024 * 1024 },
    );
    for (const [collection, docs] of Object.entries(data))
      await d.storage.insertMany(tenant, pluginId, collection, docs, id);
  }
  // Always ask: the hook is either the module at sandbox.seed or definePlugin's `seed`, and only
  // the runner knows whether the plugin defined one (it answers at once when there is none).
  await d.supervisor.runSeed(instanceId);
}
