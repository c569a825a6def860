/** The three states every page has besides its content: loading, empty, error (with the hint). */
import type { ReactNode } from 'react';
import { describeError } from '../api/api-error.ts';

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function ErrorBox({
  error,
  onRetry,
  title,
}: {
  error: unknown;
  onRetry?: () => void;
  title?: string;
}) {
  const e = describeError(error);
  return (
    <div className="state state-error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <div>
        <code>{e.code}</code> {e.message}
      </div>
      {e.hint ? <div className="hint">Hint: {e.hint}</div> : null}
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** A feature the connected core does not offer (e.g. dev mode off, or not built yet). */
export function Unavailable({ title, error }: { title: string; error: unknown }) {
  const e = describeError(error);
  return (
    <div className="state state-unavailable" role="note">
      <strong>{title}</strong>
      <div>{e.message}</div>
      {e.hint ? <div className="hint">Hint: {e.hint}</div> : null}
    </div>
  );
}
