/**
 * Live progress of one install (upload, reconfigure, restart or rollback): polls the install
 * until it is running, failed, or waiting for configuration, and shows its stage timeline.
 */
import { useEffect, useState } from 'react';
import type { Install } from '@powerx/protocol';
import type { ApiClient } from '../api/api-client.ts';
import { onThisOrigin } from '../api/api-client.ts';
import { StageTimeline } from './stage-timeline.tsx';
import { StatusBadge } from './status-badge.tsx';
import { ErrorBox } from './states.tsx';
import { useSession } from '../session-context.ts';

const POLL_MS = 400;

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
): { install: Install | undefined; error: unknown } {
  const [install, setInstall] = useState(initial);
  const [error, setError] = useState<unknown>();
  useEffect(() => setInstall(initial), [initial]);
  const id = install?.id;
  const settled = install ? isSettled(install) : true;
  useEffect(() => {
    if (!id || settled) return;
    let live = true;
    const timer = setInterval(() => {
      api.install(id).then(
        (next) => {
          if (!live) return;
          setError(undefined);
          setInstall(next);
          if (isSettled(next)) onSettled?.(next);
        },
        (e: unknown) => live && setError(e),
      );
    }, POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
    // onSettled is read at call time; the poll restarts only for another install.
  }, [api, id, settled]);
  return { install, error };
}

export function InstallProgress({
  install,
  error,
  title,
}: {
  install: Install;
  error?: unknown;
  title: string;
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
