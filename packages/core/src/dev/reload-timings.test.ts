import { describe, expect, it } from 'vitest';
import type { InstallStage } from '@powerx/protocol';
import { timings, timingsFrom } from './reload-timings.ts';

const stage = (name: string, durationMs?: number): InstallStage => ({
  stage: name,
  outcome: 'ok',
  startedAt: '2026-01-01T00:00:00.000Z',
  ...(durationMs !== undefined ? { durationMs } : {}),
});

describe('dev reload timings', () => {
  it('groups the install stages into validate, start, health and switch', () => {
    const t = timingsFrom(
      [
        stage('received', 1),
        stage('validating', 20),
        stage('awaiting_config', 2),
        stage('provisioning', 5),
        stage('starting', 100),
        stage('health_check', 40),
        stage('seeding', 3),
        stage('running', 0),
      ],
      12.4,
      190.6,
    );
    expect(t).toEqual({ pushMs: 12, validateMs: 23, startMs: 105, healthMs: 40, switchMs: 3, totalMs: 191 });
  });

  it('counts a stage still open (no duration) as zero and fills missing parts with zero', () => {
    expect(timingsFrom([stage('starting')], 0, 5)).toMatchObject({ startMs: 0, totalMs: 5 });
    expect(timings({ pushMs: 3.6 })).toEqual({
      pushMs: 4,
      validateMs: 0,
      startMs: 0,
      healthMs: 0,
      switchMs: 0,
      totalMs: 0,
    });
  });
});
