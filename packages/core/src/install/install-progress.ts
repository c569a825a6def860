/**
 * Live install progress: each stage change of an install (upload, upgrade, dev reload,
 * reconfigure, rollback) and of an uninstall is published on the event bus as
 * `plugin.install.progress`, built from what was just persisted. On NATS every node receives it,
 * so the channel `plugin.install.progress` of `/api/ws` (progress-hub.ts) shows an install made
 * through any node. The same builder gives the snapshot a late subscriber starts from.
 */
import type { Logger } from 'pino';
import type { InstallProgress, InstallStage, ProgressKind, ProgressState } from '@powerx/protocol';
import type { EventBus } from '../events/event-bus.ts';
import type { PluginRepository } from '../plugins/plugin-repository.ts';
import type { InstallRow, InstallStore } from './install-store.ts';

export interface ProgressDeps {
  store: InstallStore;
  plugins: Pick<PluginRepository, 'get'>;
  bus: EventBus;
  log: Logger;
}

/**
 * The persisted state of an install as a progress payload. `install` may be a row read earlier (a
 * snapshot's list): it is read again after the stages (readInstall), and is only the fallback of a
 * row gone meanwhile.
 */
export async function progressOf(d: ProgressDeps, install: InstallRow): Promise<InstallProgress> {
  const { row, stages } = (await readInstall(d, install.id, install))!;
  return progressFrom(row, stages, await kindOf(d, row));
}

/**
 * An install's stages, then its row: read in that order, so that a change committed meanwhile
 * never tears the two apart (the row is at least as new as the stages: a failure's error is there
 * once its stage is). Two queries; undefined when there is no such install (nor fallback).
 */
async function readInstall(
  d: ProgressDeps,
  installId: string,
  fallback?: InstallRow,
): Promise<{ row: InstallRow; stages: InstallStage[] } | undefined> {
  const stages = await d.store.stages(installId);
  const row = (await d.store.get(installId)) ?? fallback;
  return row && { row, stages };
}

function progressFrom(row: InstallRow, stages: InstallStage[], kind: ProgressKind): InstallProgress {
  const stage = row.state === 'uninstalled' ? row.state : (stages.at(-1)?.stage ?? row.state);
  return {
    installId: row.id,
    tenant: row.tenant_id,
    ...(row.plugin_id ? { pluginId: row.plugin_id } : {}),
    ...(row.version ? { version: row.version } : {}),
    kind,
    stage,
    state: stateOf(stage, stages),
    stages,
    ...(row.error_code && stage === 'failed'
      ? {
          error: {
            code: row.error_code,
            stage: row.error_stage ?? 'unknown',
            message: row.error_message ?? '',
            hint: row.error_hint ?? '',
          },
        }
      : {}),
    seq: progressSeq(stages.length, stages.at(-1)?.outcome === 'waiting'),
    at: stages.at(-1)?.startedAt ?? row.updated_at,
    ...(row.node_id ? { node: row.node_id } : {}),
  };
}

/**
 * Orders the frames of one install: two steps per stage, so that the parking in awaiting_config
 * (the stage's outcome turns `waiting`, no stage is added) is newer than the stage's start and
 * older than the next stage. Subscribers drop a frame whose seq they already have.
 */
export function progressSeq(stageCount: number, waiting: boolean): number {
  return Math.max(1, 2 * stageCount + (waiting ? 1 : 0));
}

/**
 * Publishes the install's current state. The payload is read before this returns (the pipeline
 * awaits it, so no later stage can overtake it); the publish itself is not awaited — on NATS that
 * would put a network round trip into every stage — and publishes leave in call order. Never
 * fails the install: a lost frame is logged.
 */
export async function announceProgress(d: ProgressDeps, installId: string): Promise<void> {
  try {
    // Every stage of every install comes here: the stages, the row and (for an install) its
    // plugin, three queries; progress-hub.test.ts holds the count.
    const read = await readInstall(d, installId);
    if (read) publish(d, installId, progressFrom(read.row, read.stages, await kindOf(d, read.row)));
  } catch (error) {
    d.log.warn({ err: error, installId }, 'install progress not announced');
  }
}

function publish(d: ProgressDeps, installId: string, progress: InstallProgress): void {
  d.bus
    .publish('plugin.install.progress', progress)
    .catch((error: unknown) => d.log.warn({ err: error, installId }, 'install progress not announced'));
}

/**
 * An uninstall has no install row of its own: it is told on the install that was serving, as
 * `uninstalling` (started) then `uninstalled`, after that install's own stages.
 */
export async function announceUninstall(
  d: ProgressDeps,
  installId: string,
  stage: 'uninstalling' | 'uninstalled',
  startedAt: string,
): Promise<void> {
  try {
    const read = await readInstall(d, installId);
    if (!read) return;
    const now = new Date().toISOString();
    const stages: InstallStage[] =
      stage === 'uninstalling'
        ? [{ stage, outcome: 'running', startedAt }]
        : [
            {
              stage: 'uninstalling',
              outcome: 'ok',
              startedAt,
              finishedAt: now,
              durationMs: Date.parse(now) - Date.parse(startedAt),
            },
            { stage, outcome: 'ok', startedAt: now, finishedAt: now, durationMs: 0 },
          ];
    const progress: InstallProgress = {
      ...progressFrom(read.row, read.stages, 'uninstall'),
      stage,
      state: stage === 'uninstalled' ? 'uninstalled' : 'in_progress',
      stages,
      seq: progressSeq(read.stages.length + stages.length, false),
      at: stages.at(-1)!.startedAt,
    };
    delete progress.error;
    publish(d, installId, progress);
  } catch (error) {
    d.log.warn({ err: error, installId }, 'uninstall progress not announced');
  }
}

function stateOf(state: string, stages: InstallStage[]): ProgressState {
  if (state === 'running' || state === 'failed' || state === 'uninstalled') return state;
  if (state === 'awaiting_config' && stages.at(-1)?.outcome === 'waiting') return 'waiting';
  return 'in_progress';
}

async function kindOf(d: ProgressDeps, row: InstallRow): Promise<ProgressKind> {
  if (row.kind !== 'install') return row.kind;
  if (row.flow === 'dev') return 'dev_reload';
  if (row.previous_install_id) return 'upgrade';
  const active = row.plugin_id ? await d.plugins.get(row.tenant_id, row.plugin_id) : undefined;
  return active && active.active_install_id !== row.id ? 'upgrade' : 'install';
}
