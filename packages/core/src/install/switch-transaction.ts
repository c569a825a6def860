/**
 * The switch: one transaction makes the new install the plugin's active one (and the one it
 * replaces the last stable one, see version-gc-policy.ts), closes its stages and marks it
 * running. Then the entry point routes to the new instance; the replaced instance drains and
 * stops, and displaced version folders go — off the install's critical path.
 */
import type { Manifest } from '@powerx/protocol';
import type { InstallRow } from './install-store.ts';
import type { PipelineContext } from './pipeline-context.ts';
import { flowPolicy } from './flow-policy.ts';
import { switchPlan } from './version-gc-policy.ts';
import { dropVersion } from './version-gc.ts';

/** How long the replaced instance keeps accepting after a switch (blue/green drain). */
const SWITCH_DRAIN_MS = 250;

const COMPLETED_ACTION = {
  install: 'plugin.install.completed',
  reconfigure: 'plugin.reconfigure.completed',
  rollback: 'plugin.rollback.completed',
} as const;

export async function switchIn(
  ctx: PipelineContext,
  input: { id: string; row: InstallRow; manifest: Manifest; started: number },
): Promise<void> {
  const { d } = ctx;
  const { id, row, manifest } = input;
  const tenant = row.tenant_id;
  const pluginId = row.plugin_id!;
  const now = new Date();
  const durationMs = Math.round(performance.now() - input.started);
  const current = await d.plugins.get(tenant, pluginId);
  const plan = switchPlan(row.kind, current);
  await d.db.transaction().execute(async (trx) => {
    await d.plugins.writeActive(
      trx,
      tenant,
      pluginId,
      {
        active_install_id: id,
        active_version: manifest.version,
        last_stable_install_id: plan.lastStable.id,
        last_stable_version: plan.lastStable.version,
        status: 'running',
        memory_mb: manifest.resources.memoryMb,
        disk_mb: manifest.resources.diskMb,
        cpu_percent: manifest.resources.cpuPercent,
        package_bytes: row.package_bytes,
        updated_at: now.toISOString(),
      },
      !!current,
    );
    await ctx.stages.closeForSwitch(trx, id, now);
    await trx
      .updateTable('installs')
      .set({
        state: 'running',
        finished_at: now.toISOString(),
        duration_ms: durationMs,
        updated_at: now.toISOString(),
        previous_install_id: current?.active_install_id ?? null,
      })
      .where('id', '=', id)
      .execute();
  });
  const oldInstance = ctx.serving.get(tenant, pluginId);
  ctx.serving.set(tenant, pluginId, (await d.store.get(id))!.instance_id!);
  // In a cluster this node now serves the plugin: it takes the lease, the previous owner drains.
  await d.placement?.serving(tenant, pluginId);
  await ctx.stages.announce(id);
  ctx.tasks.changed(id);
  // Requests the entry proxy routed to the old instance just before the switch are still on their
  // way to its socket: let them land, then stop it (in-flight ones finish within the grace).
  // close() still waits for this work (tasks).
  ctx.tasks.track(
    (async () => {
      if (oldInstance)
        await new Promise((resolve) => setTimeout(resolve, SWITCH_DRAIN_MS))
          .then(() => d.supervisor.stop(oldInstance, { reason: 'replaced by a new version', graceMs: 2000 }))
          .catch(() => {});
      for (const installId of plan.displaced)
        await dropVersion(d, installId).catch((error: unknown) =>
          d.log.warn({ err: error, installId }, 'could not drop a displaced version'),
        );
    })(),
  );
  d.log.info(
    {
      installId: id,
      stage: 'running',
      kind: row.kind,
      tenant,
      pluginId,
      version: manifest.version,
      durationMs,
    },
    'install running',
  );
  // The switch is committed and the new version serves: failing to record it (a full disk) is
  // logged, never turned into a rollback of a version that already serves.
  await d.audit
    .append({
      actor: await ctx.stages.actorName(row.actor_id),
      tenant,
      action: COMPLETED_ACTION[row.kind],
      target: pluginId,
      outcome: 'ok',
      details: {
        installId: id,
        version: manifest.version,
        durationMs,
        previousInstallId: current?.active_install_id ?? null,
      },
    })
    .catch((error: unknown) => d.log.warn({ err: error, installId: id }, 'switch not audited'));
  if (row.kind === 'install' && flowPolicy(row.flow).metrics === 'sandbox') {
    d.metrics.installDuration.observe({ result: 'success' }, durationMs / 1000);
    d.metrics.installTotal.inc({ result: 'success' });
    await d.bus.publish('plugin.install.sandbox_completed', {
      tenant,
      plugin: pluginId,
      version: manifest.version,
      installId: id,
      durationMs,
    });
  }
}
