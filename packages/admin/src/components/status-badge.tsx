/** Status of a plugin or install, coloured by how healthy it is. */
const GOOD = new Set(['running', 'ready', 'ok']);
const BAD = new Set(['failed', 'crashed', 'stopped', 'unhealthy', 'rolled_back']);

export function StatusBadge({ status }: { status: string }) {
  const tone = GOOD.has(status) ? 'badge-ok' : BAD.has(status) ? 'badge-bad' : 'badge-busy';
  return (
    <span className={`badge ${tone}`} data-status={status}>
      {status.replaceAll('_', ' ')}
    </span>
  );
}

/** A usage bar: value against a limit, amber from 80 % (the quota alert threshold). */
export function UsageBar({
  label,
  value,
  limit,
  unit,
}: {
  label: string;
  value: number;
  limit: number;
  unit: string;
}) {
  const ratio = limit > 0 ? value / limit : 0;
  const tone = ratio >= 1 ? 'bar-bad' : ratio >= 0.8 ? 'bar-warn' : 'bar-ok';
  return (
    <div className="usage" title={`${label}: ${round(value)} of ${round(limit)} ${unit}`}>
      <div className="usage-label">
        {label}{' '}
        <span className="muted">
          {round(value)} / {round(limit)} {unit}
        </span>
      </div>
      <div
        className="bar"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={value}
      >
        <div className={`bar-fill ${tone}`} style={{ width: `${Math.min(100, ratio * 100)}%` }} />
      </div>
    </div>
  );
}

function round(n: number): string {
  return n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
}
