/** The validator's checks, one line each: ✓ or ✗, title, message, and the hint of a failed check. */
import type { ValidationCheck } from '@powerx/protocol';

export function ValidationReport({ checks, ok }: { checks: ValidationCheck[]; ok: boolean }) {
  return (
    <section className="card" aria-labelledby="report-title">
      <h2 id="report-title">
        Validation report{' '}
        <span className={`badge ${ok ? 'badge-ok' : 'badge-bad'}`}>
          {ok ? 'all checks passed' : `${checks.filter((c) => !c.ok).length} failed`}
        </span>
      </h2>
      <ul className="checks">
        {checks.map((c) => (
          <li key={c.id} className={c.ok ? 'check-ok' : 'check-bad'} data-check={c.id}>
            <span className="check-mark" aria-label={c.ok ? 'passed' : 'failed'}>
              {c.ok ? '✓' : '✗'}
            </span>
            <div>
              <div className="check-title">
                {c.title} {c.code && !c.ok ? <code>{c.code}</code> : null}
                {c.durationMs !== undefined ? <span className="muted"> · {c.durationMs} ms</span> : null}
              </div>
              <div className="check-message">{c.message}</div>
              {!c.ok && c.hint ? <div className="hint">Hint: {c.hint}</div> : null}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
