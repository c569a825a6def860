import { describe, expect, it } from 'vitest';
import { INSTALL_STAGES, canEnter, interruptedStage, isFinished } from './stage-transitions.ts';

describe('install stage transitions', () => {
  it('walks the stages forward one at a time', () => {
    for (let i = 0; i + 1 < INSTALL_STAGES.length; i++)
      expect(canEnter(INSTALL_STAGES[i], INSTALL_STAGES[i + 1])).toBe(true);
  });

  it('never skips a stage and never goes back', () => {
    expect(canEnter('received', 'provisioning')).toBe(false);
    expect(canEnter('starting', 'seeding')).toBe(false);
    expect(canEnter('health_check', 'starting')).toBe(false);
    expect(canEnter('running', 'received')).toBe(false);
  });

  it('rolls back from any unfinished stage, including an interrupted rollback', () => {
    for (const stage of INSTALL_STAGES.filter((s) => s !== 'running'))
      expect(canEnter(stage, 'rolling_back')).toBe(true);
    expect(canEnter('rolling_back', 'rolling_back')).toBe(true);
  });

  it('does not roll back an install that already finished', () => {
    expect(canEnter('running', 'rolling_back')).toBe(false);
    expect(canEnter('failed', 'rolling_back')).toBe(false);
  });

  it('fails only after a rollback or while serving', () => {
    expect(canEnter('rolling_back', 'failed')).toBe(true);
    expect(canEnter('running', 'failed')).toBe(true);
    expect(canEnter('starting', 'failed')).toBe(false);
    expect(canEnter('failed', 'failed')).toBe(false);
  });

  it('knows running and failed as the finished states', () => {
    expect(isFinished('running')).toBe(true);
    expect(isFinished('failed')).toBe(true);
    expect(isFinished('awaiting_config')).toBe(false);
  });

  it('reports an interrupted rollback in the stage it was undoing', () => {
    expect(interruptedStage('starting', null)).toBe('starting');
    expect(interruptedStage('rolling_back', 'health_check')).toBe('health_check');
    expect(interruptedStage('rolling_back', null)).toBe('rolling_back');
  });
});
