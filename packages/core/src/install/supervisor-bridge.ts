/**
 * What core hears from the supervisor about instances outside a start: a serving instance that
 * failed (crash loop, quota) goes to serving-failures.ts. The phases of a start come through the
 * start's own callback (activation.ts).
 */
import type { SupervisorEvent } from '@powerx/runtime';
import type { ServingFailures } from './serving-failures.ts';

export function onSupervisorEvent(failures: ServingFailures, event: SupervisorEvent): void {
  if (event.type === 'instance.failed') failures.onInstanceFailed(event.instance, event.failure);
}
