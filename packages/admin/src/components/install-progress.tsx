/**
 * Live progress of one install (upload, reconfigure, restart or rollback): follows the install's
 * stages live over /api/ws (channel plugin.install.progress, api/progress-feed.ts) — polling it
 * where the channel is not available — until it is running, failed, or waiting for configuration,
 * and shows its stage timeline. The settled install is read over REST (entry point, wizard); while
 * live it is also re-read now and then, as the CLI does, so a lost frame never leaves it hanging.
 */
import { useEffect, useState } from 'react';
import type { Install, InstallProgress as Progress } from '@powerx/protocol';
import type { ApiClient } from '../api/api-client.ts';
import { onThisOrigin } from '../api/api-client.ts';
import { followInstallProgress } from '../api/progress-feed.ts';
import { StageTimeline } from './stage-timeline.tsx';
import { StatusBadge } from './status-badge.tsx';
import { ErrorBox } from './states.tsx';
import { useSession } from '../session-context.ts';

const POLL_MS = 400;
/**
 * While following live, how often the install is also read over REST: a frame lost on the way (a
 * proxy, a node's bus hiccup) would otherwise leave the page on a stage forever. The CLI's
 * `px-plugin install` checks at the same pace (packages/cli commands/install.ts).
 */
const LIVE_CHECK_MS = 2_000;

/** How the progress reaches the page: live frames, or polling the install. */
export type ProgressFeed = 'connecting' | 'live' | 'polling';

export function isSettled(install: Install): boolean {
  return install.state === 'running' || install.state === 'failed' || isWaitingForConfig(install);
}

export function isWaitingForConfig(install: Install): boolean {
  return (
    install.state === 'awaiting_config' &&
    install.stages.some((s) => s.stage === 'awaiting_config' && s.outcome === 'waiting')
  );
}

export function useInstallProgress(
  api: ApiClient,
  initial: Install | undefined,
  onSettled?: (install: Install) => void,
): { install: Install | undefined; error: unknown; feed: ProgressFeed } {
  const [install, setInstall] = useState(initial);
  const [error, setError] = useState<unknown>();
  const [feed, setFeed] = useState<ProgressFeed>('connecting');
  useEffect(() => setInstall(initial), [initial]);
  const id = install?.id;
  const tenant = install?.tenant;
  const settled = install ? isSettled(install) : true;
  useEffect(() => {
    if (!id || !tenant || settled) return;
    let live = true;
    const read = () =>
      api.install(id).then(
        (next) => {
          if (!live) return;
          setError(undefined);
          setInstall((prev) => (prev && !isSettled(next) && isBehind(next.stages, prev) ? prev : next));
          if (isSettled(next)) onSettled?.(next);
        },
        (e: unknown) => live && setError(e),
      );
    // From the start, not from the snapshot: a lost snapshot must not hang the page either.
    let timer = setInterval(read, LIVE_CHECK_MS);
    const close = followInstallProgress(api, tenant, id, {
      onLive: () => setFeed('live'),
      // Stages in flight come from the frame; a settled install is read whole (entry point, wizard).
      onProgress: (progress) => {
        if (!live) return;
        if (progress.state === 'in_progress')
          setInstall((prev) =>
            prev && !isBehind(progress.stages, prev) ? withProgress(prev, progress) : prev,
          );
        else void read();
      },
      onUnavailable: () => {
        if (!live) return;
        setFeed('polling');
        clearInterval(timer);
        void read();
        timer = setInterval(read, POLL_MS);
      },
    });
    return () => {
      live = false;
      close();
      clearInterval(timer);
    };
    // onSettled is read at call time; the feed restarts only for another install.
  }, [api, id, tenant, settled]);
  return { install, error, feed };
}

/**
 * Frames and REST reads both carry the whole timeline, and stages are only ever added: one with
 * fewer stages than shown was read before what is shown (a REST answer overtaken by a frame, or the
 * other way round) and would take the timeline back a stage.
 */
function isBehind(stages: Install['stages'], shown: Install): boolean {
  return stages.length < shown.stages.length;
}

function withProgress(install: Install, progress: Progress): Install {
  return {
    ...install,
    state: progress.stage,
    stages: progress.stages,
    ...(progress.pluginId ? { pluginId: progress.pluginId } : {}),
    ...(progress.version ? { version: progress.version } : {}),
  };
}

export function InstallProgress({
  install,
  error,
  title,
  feed,
}: {
  install: Install;
  error?: unknown;
  title: string;
  feed?: ProgressFeed;
}) {
  const { me } = useSession();
  // Installs record the actor's user id; the audit records names. Name the signed-in user.
  const actor = install.actor === me.id ? me.username : install.actor.slice(0, 8);
  return (
    <section
      className="card progress"
      aria-labelledby="progress-title"
      aria-live="polite"
      data-install-state={install.state}
      data-progress-feed={feed}
    >
      <h2 id="progress-title">
        {title} <StatusBadge status={install.state} />
      </h2>
      <div className="muted small">
        {install.pluginId ?? 'package'} {install.version ?? ''} · {install.kind} · by {actor} ·{' '}
        {new Date(install.createdAt).toLocaleString()}
        {install.unsigned
          ? ' · unsigned (dev mode)'
          : install.signerKeyId
            ? ` · signed by ${install.signerKeyId}`
            : ''}
        {feed === 'live' ? ' · live' : feed === 'polling' ? ' · polling' : ''}
      </div>
      <StageTimeline install={install} />
      {install.state === 'running' && install.entryUrl ? (
        <div className="state state-ok">
          Running. Test entry point:{' '}
          <a href={onThisOrigin(install.entryUrl)} target="_blank" rel="noreferrer" data-entry-link>
            {onThisOrigin(install.entryUrl)}
          </a>
        </div>
      ) : null}
      {error ? <ErrorBox error={error} title="Lost track of the install; retrying" /> : null}
    </section>
  );
}
