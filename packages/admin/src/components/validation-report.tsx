/**
 * The validator's checks, one line each: ✓, ✗ or ! (a failed warning, such as production quota
 * parity, which does not fail the report), title, message, and the hint of a failed check.
 */
import type { ValidationCheck } from '@powerx/protocol';

export function ValidationReport({ checks, ok }: { checks: ValidationCheck[]; ok: boolean }) {
  return (
    <section className="card" aria-labelledby="report-title">
      <h2 id="report-title">
        Validation report{' '}
        <span className={`badge ${ok ? 'badge-ok' : 'badge-bad'}`}>
          {ok ? 'all checks passed' : `${checks.filter((c) => !c.ok && !c.warning).length} failed`}
        </span>
      </h2>
      <ul className="checks">
        {checks.map((c) => (
          <li
            key={c.id}
            className={c.ok ? 'check-ok' : c.warning ? 'check-warn' : 'check-bad'}
            data-check={c.id}
          >
            <span className="check-mark" aria-label={c.ok ? 'passed' : c.warning ? 'warning' : 'failed'}>
              {c.ok ? '✓' : c.warning ? '!' : '✗'}
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
