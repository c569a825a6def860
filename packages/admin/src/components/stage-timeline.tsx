/** The stages of one install in order, each with its outcome and duration; the failure with its hint. */
import type { Install } from '@powerx/protocol';

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '…';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

const MARK: Record<string, string> = { ok: '✓', failed: '✗', running: '…', waiting: '⏸' };

export function StageTimeline({ install }: { install: Install }) {
  return (
    <div className="timeline">
      <ol aria-label="Install stages">
        {install.stages.map((s, i) => (
          <li key={`${s.stage}-${i}`} className={`stage stage-${s.outcome}`} data-stage={s.stage}>
            <span className="stage-mark" aria-hidden="true">
              {MARK[s.outcome] ?? '·'}
            </span>
            <span className="stage-name">{s.stage.replaceAll('_', ' ')}</span>
            <span className="stage-duration">
              {s.outcome === 'waiting' ? 'waiting for configuration' : formatMs(s.durationMs)}
            </span>
            {s.code ? <code>{s.code}</code> : null}
          </li>
        ))}
      </ol>
      {install.durationMs !== undefined ? (
        <div className="muted">Total {formatMs(install.durationMs)}</div>
      ) : null}
      {install.error ? (
        <div className="state state-error" role="alert">
          <strong>
            Failed at {install.error.stage.replaceAll('_', ' ')}: <code>{install.error.code}</code>
          </strong>
          <div>{install.error.message}</div>
          {install.error.hint ? <div className="hint">Hint: {install.error.hint}</div> : null}
        </div>
      ) : null}
    </div>
  );
}
