/** Core's feature flags (GET /api/version), on or off, at the foot of the navigation. */
import { useSession } from '../session-context.ts';
import { useAsync } from '../use-async.ts';

export function FeatureFlags() {
  const { api } = useSession();
  const version = useAsync(() => api.version(), [api]);
  const flags = version.data?.flags;
  if (!flags?.length) return null;
  return (
    <ul className="flags" aria-label="Feature flags" data-feature-flags>
      <li className="muted small">Feature flags</li>
      {flags.map((f) => (
        <li key={f.name} data-flag={f.name} data-enabled={f.enabled} title={f.gates}>
          <span className={f.enabled ? 'flag-on' : 'flag-off'}>{f.enabled ? '●' : '○'}</span>
          <code>{f.name}</code>
          <span className="muted">{f.enabled ? 'on' : 'off'}</span>
        </li>
      ))}
    </ul>
  );
}
