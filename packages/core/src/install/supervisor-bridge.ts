/**
 * What core hears from the supervisor about instances: an instance being started for an install
 * entering its health gate becomes the install's health_check stage; a serving instance that
 * failed (crash loop, quota) goes to serving-failures.ts.
 */
import type { SupervisorEvent } from '@powerx/runtime';
import type { PipelineContext } from './pipeline-context.ts';
import type { ServingFailures } from './serving-failures.ts';
import { healthGateEntered } from './activation.ts';

export function onSupervisorEvent(
  ctx: PipelineContext,
  failures: ServingFailures,
  event: SupervisorEvent,
): void {
  const instance = event.instance;
  if (event.type === 'instance.state') {
    for (const [installId, s] of ctx.starting) {
      // The first event of a new instance pins it to the install: another instance of the same
      // version (the serving one, on a reconfigure) restarting meanwhile is not this install's.
      if (
        s.tenant !== instance.tenant ||
        s.pluginId !== instance.pluginId ||
        s.version !== instance.version ||
        (s.instanceId && s.instanceId !== instance.id)
      )
        continue;
      s.instanceId = instance.id;
      if (instance.state === 'health_check') healthGateEntered(ctx, installId, instance);
    }
  }
  if (event.type === 'instance.failed') failures.onInstanceFailed(instance, event.failure);
}
