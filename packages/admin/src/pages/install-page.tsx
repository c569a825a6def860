/**
 * Install: drop a `.pxp` → the validation report (nothing installed yet) → the wizard generated
 * from the manifest → live progress until running (entry point link) or failed (reason, hint).
 * Or install from a local directory (dev mode): a path on core's filesystem, or a folder picked
 * in the browser and uploaded as a build.
 */
import { useRef, useState, type DragEvent, type FormEvent } from 'react';
import type { DevReload, Install, InstallConfig, ValidateResponse } from '@powerx/protocol';
import { onThisOrigin } from '../api/api-client.ts';
import { BuildFolderError, packBuildFolder } from '../dev/pack-build-folder.ts';
import { formatMs } from '../components/stage-timeline.tsx';
import { describeError, isApiError } from '../api/api-error.ts';
import { ConfigWizard } from '../components/config-wizard.tsx';
import { InstallProgress, isWaitingForConfig, useInstallProgress } from '../components/install-progress.tsx';
import { ErrorBox, Loading, Unavailable } from '../components/states.tsx';
import { ValidationReport } from '../components/validation-report.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session-context.ts';

type Step =
  | { step: 'pick' }
  | { step: 'validating'; file: File }
  | { step: 'report'; file: File; report: ValidateResponse }
  | { step: 'installing'; file: File; report: ValidateResponse; install: Install };

export function InstallPage({ tenant }: { tenant: string }) {
  const session = useSession();
  if (!session.canDev(tenant)) {
    const t = session.tenant(tenant);
    return (
      <div>
        <h1>Install a plugin</h1>
        <Unavailable
          title="Installs are not allowed here."
          error={{
            message:
              t?.kind === 'production'
                ? `${tenant} is a production tenant.`
                : `You need the plugin:dev permission and membership of ${tenant}.`,
            hint: 'Switch to a sandbox tenant you belong to.',
          }}
        />
      </div>
    );
  }
  return (
    <div>
      <div className="page-head">
        <h1>Install a plugin</h1>
        <span className="muted">into {tenant}</span>
      </div>
      <PackageInstall tenant={tenant} />
      <LocalDirectoryInstall tenant={tenant} />
    </div>
  );
}

function PackageInstall({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const [state, setState] = useState<Step>({ step: 'pick' });
  const [error, setError] = useState<unknown>();
  const [configErrors, setConfigErrors] = useState<Record<string, string>>();
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const idempotencyKey = useRef('');
  const progress = useInstallProgress(api, state.step === 'installing' ? state.install : undefined);

  const choose = async (file: File | undefined) => {
    if (!file) return;
    setError(undefined);
    setConfigErrors(undefined);
    if (!file.name.endsWith('.pxp')) {
      setError({
        message: `${file.name} is not a .pxp package.`,
        hint: 'Build one with `px-plugin build` and drop the .pxp file here.',
      });
      return;
    }
    setState({ step: 'validating', file });
    try {
      const report = await api.validatePackage({ tenant, file, fileName: file.name });
      idempotencyKey.current = crypto.randomUUID();
      setState({ step: 'report', file, report });
    } catch (e) {
      setError(e);
      setState({ step: 'pick' });
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void choose(event.dataTransfer.files[0]);
  };

  const configFailed = (e: unknown) => {
    const name = isApiError(e) ? (e.details?.name as string | undefined) : undefined;
    const names = isApiError(e) ? (e.details?.names as string | undefined) : undefined;
    if (name) setConfigErrors({ [name]: `${describeError(e).message} ${describeError(e).hint}` });
    else if (names) setConfigErrors(Object.fromEntries(names.split(/,\s*/).map((n) => [n, 'Required'])));
    else setError(e);
  };

  const install = async (config: InstallConfig) => {
    if (state.step !== 'report') return;
    setBusy(true);
    setError(undefined);
    setConfigErrors(undefined);
    try {
      const started = await api.installPackage(
        { tenant, file: state.file, fileName: state.file.name, config },
        idempotencyKey.current,
      );
      setState({ step: 'installing', file: state.file, report: state.report, install: started });
    } catch (e) {
      configFailed(e);
    } finally {
      setBusy(false);
    }
  };

  const completeConfig = async (config: InstallConfig) => {
    if (state.step !== 'installing') return;
    setBusy(true);
    setConfigErrors(undefined);
    try {
      const next = await api.submitConfig(state.install.id, config);
      setState({ ...state, install: next });
    } catch (e) {
      configFailed(e);
    } finally {
      setBusy(false);
    }
  };

  const reset = () => {
    setState({ step: 'pick' });
    setError(undefined);
    setConfigErrors(undefined);
    if (input.current) input.current.value = '';
  };

  const current = progress.install;
  return (
    <section className="card" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a package</h2>
      {state.step === 'pick' || state.step === 'validating' ? (
        <label
          className={`dropzone ${dragging ? 'dragging' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
          data-dropzone
        >
          <input
            ref={input}
            type="file"
            accept=".pxp,application/gzip"
            className="sr-only-input"
            onChange={(e) => void choose(e.target.files?.[0])}
            aria-describedby="drop-help"
          />
          <strong>Drop a .pxp here</strong>
          <span id="drop-help" className="muted">
            or press Enter / click to choose one. It is checked first; nothing is installed until you confirm.
          </span>
        </label>
      ) : (
        <div className="file-row">
          <strong>{state.file.name}</strong>{' '}
          <span className="muted">{Math.ceil(state.file.size / 1024)} KB</span>
          <button type="button" onClick={reset} disabled={busy}>
            Choose another
          </button>
        </div>
      )}
      {state.step === 'validating' ? <Loading what={`the validation of ${state.file.name}`} /> : null}
      {error ? <ErrorBox error={error} title="Could not check the package" /> : null}
      {state.step === 'report' || state.step === 'installing' ? (
        <>
          <ValidationReport checks={state.report.checks} ok={state.report.ok} />
          {state.report.signer ? (
            <div className="muted small">
              Signed by key {state.report.signer.keyId} ({state.report.signer.algorithm}) · sha256{' '}
              {state.report.packageSha256?.slice(0, 16)}…
            </div>
          ) : (
            <div className="muted small">
              Unsigned package (accepted only by a core in dev mode, in sandbox tenants that allow it).
            </div>
          )}
        </>
      ) : null}
      {state.step === 'report' && !state.report.ok ? (
        <div className="state state-error" role="alert">
          <strong>The package cannot be installed.</strong> Fix the failed checks above (each has a hint),
          rebuild, and drop it again.
        </div>
      ) : null}
      {state.step === 'report' && state.report.ok && state.report.wizard ? (
        <ConfigWizard
          wizard={state.report.wizard}
          submitLabel="Install"
          busy={busy}
          serverErrors={configErrors}
          onSubmit={(c) => void install(c)}
          onCancel={reset}
        />
      ) : null}
      {state.step === 'installing' && current ? (
        <>
          <InstallProgress install={current} error={progress.error} title="Installing" feed={progress.feed} />
          {isWaitingForConfig(current) && current.wizard ? (
            <ConfigWizard
              wizard={current.wizard}
              submitLabel="Continue the install"
              busy={busy}
              serverErrors={{
                ...Object.fromEntries((current.missingConfig ?? []).map((n) => [n, 'Required'])),
                ...(configErrors ?? {}),
              }}
              onSubmit={(c) => void completeConfig(c)}
            />
          ) : null}
          {current.state === 'running' && current.pluginId ? (
            <div className="actions">
              <Link className="button primary" to={{ page: 'plugin', tenant, plugin: current.pluginId }}>
                Open the plugin page
              </Link>
              <button type="button" onClick={reset}>
                Install another
              </button>
            </div>
          ) : current.state === 'failed' ? (
            <div className="actions">
              <button type="button" onClick={reset}>
                Try another package
              </button>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function LocalDirectoryInstall({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const [path, setPath] = useState('');
  const [result, setResult] = useState<{ reload?: DevReload; error?: unknown }>();
  const [busy, setBusy] = useState<string>();

  const submitPath = async (event: FormEvent) => {
    event.preventDefault();
    if (!path.trim()) return;
    setBusy('Copying the build into core and starting it…');
    setResult(undefined);
    try {
      setResult({ reload: await api.devInstallPath(tenant, path.trim()) });
    } catch (error) {
      setResult({ error });
    } finally {
      setBusy(undefined);
    }
  };

  const uploadFolder = async (files: FileList | null) => {
    if (!files?.length) return;
    setBusy('Packing the folder…');
    setResult(undefined);
    try {
      // webkitRelativePath is "<picked folder>/<path>": paths are taken relative to the picked folder.
      const picked = [...files].map((file) => ({
        file,
        path: file.webkitRelativePath.split('/').slice(1).join('/') || file.name,
      }));
      const pxp = await packBuildFolder(picked);
      setBusy('Uploading the build and starting it…');
      setResult({ reload: await api.devInstallUpload(tenant, pxp, 'build.pxp') });
    } catch (error) {
      setResult({
        error:
          error instanceof BuildFolderError
            ? { code: 'BUILD_FOLDER', message: error.message, hint: error.hint }
            : error,
      });
    } finally {
      setBusy(undefined);
    }
  };

  const notAvailable =
    isApiError(result?.error) && result.error.status === 404 && result.error.code !== 'DEV_BUILD_NOT_FOUND';
  const reload = result?.reload;
  return (
    <section className="card" aria-labelledby="local-title">
      <h2 id="local-title">
        Install from a local directory <span className="badge badge-muted">dev mode</span>
      </h2>
      <p className="muted">
        For iterating: core copies the build into a new version folder (it never runs from your folder) and
        swaps it in behind the health gate; a failed reload leaves the last stable version serving. Needs a
        core started with <code>PX_PLUGIN_DEV_MODE=1</code>.
      </p>
      <form className="inline-form" onSubmit={submitPath}>
        <label htmlFor="dev-path">Path on core's filesystem</label>
        <input
          id="dev-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder="/home/me/hello (plugin project or its build output)"
        />
        <button type="submit" disabled={busy !== undefined || !path.trim()}>
          Install from path
        </button>
      </form>
      <div className="inline-form">
        <label htmlFor="dev-folder">Or upload a build folder from this computer (manifest.json, dist/)</label>
        {/* webkitdirectory is not in React's DOM types. */}
        <input
          id="dev-folder"
          type="file"
          multiple
          disabled={busy !== undefined}
          {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
          onChange={(e) => void uploadFolder(e.target.files)}
        />
      </div>
      {busy ? (
        <div className="state state-loading" role="status">
          <span className="spinner" aria-hidden="true" /> {busy}
        </div>
      ) : null}
      {notAvailable ? (
        <Unavailable title="Dev installs are not available on this core." error={result?.error} />
      ) : result?.error ? (
        <ErrorBox error={result.error} title="The dev install failed" />
      ) : null}
      {reload ? <DevReloadResult reload={reload} tenant={tenant} /> : null}
    </section>
  );
}

function DevReloadResult({ reload, tenant }: { reload: DevReload; tenant: string }) {
  const t = reload.timings;
  return (
    <div
      className={`state ${reload.result === 'running' || reload.result === 'unchanged' ? 'state-ok' : 'state-error'}`}
      data-dev-result={reload.result}
      role="status"
    >
      <strong>
        {reload.pluginId ?? 'plugin'} {reload.version ?? ''}: {reload.result.replaceAll('_', ' ')}
      </strong>
      <div className="small">
        push {formatMs(t.pushMs)} · validate {formatMs(t.validateMs)} · start {formatMs(t.startMs)} · health{' '}
        {formatMs(t.healthMs)} · switch {formatMs(t.switchMs)} · total {formatMs(t.totalMs)}
      </div>
      {reload.error ? (
        <div>
          <code>{reload.error.code}</code> {reload.error.message}
          {reload.error.hint ? <div className="hint">Hint: {reload.error.hint}</div> : null}
        </div>
      ) : null}
      {reload.serving && reload.result !== 'running' ? (
        <div>Still serving {reload.serving.version}.</div>
      ) : null}
      <div className="actions">
        {reload.entryUrl ? (
          <a href={onThisOrigin(reload.entryUrl)} target="_blank" rel="noreferrer" data-entry-link>
            Open the entry point
          </a>
        ) : null}
        {reload.pluginId ? (
          <Link to={{ page: 'plugin', tenant, plugin: reload.pluginId }}>Open the plugin page</Link>
        ) : null}
        <Link to={{ page: 'dev', tenant }}>Dev sessions</Link>
      </div>
    </div>
  );
}
