/**
 * The install state machine as data:
 *   received → validating → awaiting_config → provisioning → starting → health_check → seeding → running
 * Any unfinished stage may go to rolling_back (a restart re-enters rolling_back to finish one a
 * crash interrupted), rolling_back ends in failed, and a serving install may fail later (running
 * → failed). Reconfigure and rollback installs walk the same stages. The stage list itself is
 * protocol's (the API reports it); this file only says which moves between them are legal.
 */
import { INSTALL_STAGES } from '@powerx/protocol';

export { INSTALL_STAGES };

export type InstallStageName = (typeof INSTALL_STAGES)[number] | 'rolling_back' | 'failed';

/**
 * Terminal states: nothing moves an install out of them but a serving failure (running → failed);
 * `uninstalled` is the history of a plugin that was removed.
 */
export const FINISHED_STAGES: readonly string[] = ['running', 'failed', 'uninstalled'];

export function isFinished(state: string): boolean {
  return FINISHED_STAGES.includes(state);
}

/** Whether an install in `from` may enter `to`. */
export function canEnter(from: string, to: string): boolean {
  if (to === 'rolling_back') return !isFinished(from);
  if (to === 'failed') return from === 'rolling_back' || from === 'running';
  const i = (INSTALL_STAGES as readonly string[]).indexOf(from);
  return i >= 0 && INSTALL_STAGES[i + 1] === to;
}

/**
 * The stage a restart reports an unfinished install as interrupted in: where it was, or, for a
 * rollback the crash cut short, the stage that rollback was undoing.
 */
export function interruptedStage(state: string, errorStage: string | null): string {
  return state === 'rolling_back' ? (errorStage ?? 'rolling_back') : state;
}
