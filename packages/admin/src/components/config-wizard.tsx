/**
 * The install wizard, generated from the manifest's config section (core's `wizard`): one typed
 * input per env variable (text, number, true/false, choice), a masked input per secret, the log
 * level. Defaults are filled in; required and type errors show inline before anything is sent;
 * core's CONFIG_INVALID answer is shown on the field it names.
 * In "reconfigure" mode secrets show only whether they are set; leaving one empty keeps it.
 */
import { useState, type FormEvent } from 'react';
import type { InstallConfig, LogLevel, Wizard } from '@powerx/protocol';
import { LOG_LEVEL_NAMES } from '../log-levels.ts';

type EnvSpec = Wizard['env'][number];

export interface CurrentConfig {
  env: Record<string, string | number | boolean>;
  secrets: string[];
  logLevel: string;
}

function initialValue(spec: EnvSpec, current?: CurrentConfig): string {
  const value = current?.env[spec.name] ?? spec.default;
  return value === undefined ? '' : String(value);
}

function checkValue(spec: EnvSpec, raw: string): string | undefined {
  if (raw === '') return spec.required ? 'Required' : undefined;
  if (spec.type === 'number' && !Number.isFinite(Number(raw))) return 'Enter a number';
  if (spec.type === 'enum' && !(spec.enum ?? []).includes(raw))
    return `Choose one of ${(spec.enum ?? []).join(', ')}`;
  return undefined;
}

function typed(spec: EnvSpec, raw: string): string | number | boolean {
  if (spec.type === 'number') return Number(raw);
  if (spec.type === 'boolean') return raw === 'true';
  return raw;
}

export function ConfigWizard({
  wizard,
  current,
  submitLabel,
  busy,
  serverErrors,
  onSubmit,
  onCancel,
}: {
  wizard: Wizard;
  current?: CurrentConfig;
  submitLabel: string;
  busy?: boolean;
  /** Field name → message from core (CONFIG_INVALID / CONFIG_REQUIRED_MISSING). */
  serverErrors?: Record<string, string>;
  onSubmit: (config: InstallConfig) => void;
  onCancel?: () => void;
}) {
  const [env, setEnv] = useState<Record<string, string>>(() =>
    Object.fromEntries(wizard.env.map((s) => [s.name, initialValue(s, current)])),
  );
  const [secrets, setSecrets] = useState<Record<string, string>>(() =>
    Object.fromEntries(wizard.secrets.map((s) => [s.name, ''])),
  );
  const [logLevel, setLogLevel] = useState<string>(current?.logLevel ?? wizard.logLevel);
  const [touched, setTouched] = useState(false);

  const errors: Record<string, string> = {};
  for (const spec of wizard.env) {
    const message = checkValue(spec, env[spec.name] ?? '');
    if (message) errors[spec.name] = message;
  }
  for (const spec of wizard.secrets) {
    const isSet = current?.secrets.includes(spec.name);
    if (spec.required && !isSet && !secrets[spec.name]) errors[spec.name] = 'Required';
  }
  const shown = { ...(touched ? errors : {}), ...(serverErrors ?? {}) };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(errors).length) return;
    // protocol's LogLevelSchema is a Union built with .map(), which TypeBox types as never; the
    // value is one of LOG_LEVEL_NAMES (the select offers nothing else) and core re-checks it.
    const config = { logLevel: logLevel as LogLevel } as unknown as InstallConfig;
    const envOut: Record<string, string | number | boolean> = {};
    for (const spec of wizard.env) {
      const raw = env[spec.name] ?? '';
      if (raw !== '') envOut[spec.name] = typed(spec, raw);
    }
    if (Object.keys(envOut).length) config.env = envOut;
    const secretOut = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== ''));
    if (Object.keys(secretOut).length) config.secrets = secretOut;
    onSubmit(config);
  };

  const fieldError = (name: string) =>
    shown[name] ? (
      <div className="field-error" id={`err-${name}`} role="alert">
        {shown[name]}
      </div>
    ) : null;

  return (
    <form className="card wizard" onSubmit={submit} noValidate aria-labelledby="wizard-title">
      <h2 id="wizard-title">Configuration</h2>
      {wizard.env.length === 0 && wizard.secrets.length === 0 ? (
        <p className="muted">This plugin declares no settings; only the log level can be chosen.</p>
      ) : null}
      {wizard.env.map((spec) => {
        const id = `env-${spec.name}`;
        const describedBy = shown[spec.name]
          ? `err-${spec.name}`
          : spec.description
            ? `desc-${spec.name}`
            : undefined;
        const common = {
          id,
          name: spec.name,
          'aria-invalid': Boolean(shown[spec.name]),
          'aria-describedby': describedBy,
          value: env[spec.name] ?? '',
        };
        const set = (value: string) => setEnv((e) => ({ ...e, [spec.name]: value }));
        return (
          <div className="field" key={spec.name}>
            <label htmlFor={id}>
              {spec.name}{' '}
              {spec.required ? (
                <span className="required" aria-label="required">
                  *
                </span>
              ) : null}{' '}
              <span className="muted">{spec.type}</span>
            </label>
            {spec.type === 'enum' ? (
              <select {...common} onChange={(e) => set(e.target.value)}>
                {!spec.required || !env[spec.name] ? <option value="">(not set)</option> : null}
                {(spec.enum ?? []).map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : spec.type === 'boolean' ? (
              <select {...common} onChange={(e) => set(e.target.value)}>
                <option value="">(not set)</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                {...common}
                type={spec.type === 'number' ? 'number' : 'text'}
                inputMode={spec.type === 'number' ? 'decimal' : undefined}
                onChange={(e) => set(e.target.value)}
              />
            )}
            {spec.description ? (
              <div className="muted" id={`desc-${spec.name}`}>
                {spec.description}
              </div>
            ) : null}
            {spec.default !== undefined ? <div className="muted">Default: {String(spec.default)}</div> : null}
            {fieldError(spec.name)}
          </div>
        );
      })}
      {wizard.secrets.map((spec) => {
        const id = `secret-${spec.name}`;
        const isSet = current?.secrets.includes(spec.name);
        return (
          <div className="field" key={spec.name}>
            <label htmlFor={id}>
              {spec.name}{' '}
              {spec.required ? (
                <span className="required" aria-label="required">
                  *
                </span>
              ) : null}{' '}
              <span className="muted">secret</span>{' '}
              {current ? (
                <span
                  className={`badge ${isSet ? 'badge-ok' : 'badge-muted'}`}
                  data-secret-state={isSet ? 'set' : 'unset'}
                >
                  {isSet ? 'set' : 'not set'}
                </span>
              ) : null}
            </label>
            <input
              id={id}
              name={spec.name}
              type="password"
              autoComplete="new-password"
              placeholder={isSet ? 'leave empty to keep the current value' : ''}
              value={secrets[spec.name] ?? ''}
              aria-invalid={Boolean(shown[spec.name])}
              aria-describedby={shown[spec.name] ? `err-${spec.name}` : undefined}
              onChange={(e) => setSecrets((s) => ({ ...s, [spec.name]: e.target.value }))}
            />
            {spec.description ? <div className="muted">{spec.description}</div> : null}
            <div className="muted">Stored encrypted in core; never shown again.</div>
            {fieldError(spec.name)}
          </div>
        );
      })}
      <div className="field">
        <label htmlFor="log-level">Log level</label>
        <select id="log-level" value={logLevel} onChange={(e) => setLogLevel(e.target.value)}>
          {LOG_LEVEL_NAMES.map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>
        {fieldError('logLevel')}
      </div>
      <div className="actions">
        {onCancel ? (
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Working…' : submitLabel}
        </button>
      </div>
    </form>
  );
}
