/** The timing line `px-plugin dev` prints for a reload, from the stages of its install. */
import type { DevReloadTimings, InstallStage } from '@powerx/protocol';

/** Whole milliseconds; parts not given are 0. */
export function timings(t: Partial<DevReloadTimings>): DevReloadTimings {
  return { pushMs: 0, validateMs: 0, startMs: 0, healthMs: 0, switchMs: 0, totalMs: 0, ...roundAll(t) };
}

function roundAll(t: Partial<DevReloadTimings>): Partial<DevReloadTimings> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v as number)]));
}

/** Stage durations of the install, grouped as push → validate → start → health → switch. */
export function timingsFrom(stages: InstallStage[], pushMs: number, totalMs: number): DevReloadTimings {
  const ms = (...names: string[]) =>
    stages.filter((s) => names.includes(s.stage)).reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
  return timings({
    pushMs,
    validateMs: ms('received', 'validating', 'awaiting_config'),
    startMs: ms('provisioning', 'starting'),
    healthMs: ms('health_check'),
    switchMs: ms('seeding', 'running'),
    totalMs,
  });
}
