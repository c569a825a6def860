/**
 * Live progress of one install (upload, reconfigure, restart or rollback): follows the install's
 * stages live over /api/ws (channel plugin.install.progress, api/progress-feed.ts) — polling it
 * where the channel is not available — until it is running, failed, or waiting for configuration,
 * and shows its stage timeline. The settled install is read once over REST (entry point, wizard).
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
    let timer: ReturnType<typeof setInterval> | undefined;
    const read = () =>
      api.install(id).then(
        (next) => {
          if (!live) return;
          setError(undefined);
          setInstall(next);
          if (isSettled(next)) onSettled?.(next);
        },
        (e: unknown) => live && setError(e),
      );
    const close = followInstallProgress(api, tenant, id, {
      onLive: () => setFeed('live'),
      // Stages in flight come from the frame; a settled install is read whole (entry point, wizard).
      onProgress: (progress) => {
        if (!live) return;
        if (progress.state === 'in_progress') setInstall((prev) => prev && withProgress(prev, progress));
        else void read();
      },
      onUnavailable: () => {
        if (!live) return;
        setFeed('polling');
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
