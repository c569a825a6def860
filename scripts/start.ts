/**
 * `npm start`: the quick start. Runs core on its embedded default (SQLite and local disk under
 * PX_DATA_DIR, default ./.px-data), makes sure the hello example is installed in the sandbox
 * tenant through the real upload flow (build → sign with a developer key registered for the admin
 * → upload → wizard → running), and prints the URLs. Dev mode is on (PX_PLUGIN_DEV_MODE=0 turns it
 * off). Ctrl-C stops core and its plugins.
 */
import { startCore, type RunningCore } from '@powerx/core';
import { isPxError } from '@powerx/protocol';
import { ensureAdminBuilt } from '../packages/admin/scripts/ensure-built.ts';
import { HELLO_ID, SANDBOX, ensureHelloInstalled } from './quickstart-hello.ts';

async function hasAdmin(core: RunningCore): Promise<boolean> {
  const response = await fetch(`${core.url}/admin/`);
  return response.ok;
}

async function main(): Promise<void> {
  if (await ensureAdminBuilt({ quiet: true }))
    process.stdout.write('built the Admin (packages/admin/dist)\n');
  // The quick start is a developer's machine: dev mode is on unless PX_PLUGIN_DEV_MODE=0 says otherwise,
  // so that `px-plugin dev --watch` works against it straight away.
  const devMode = process.env.PX_PLUGIN_DEV_MODE !== '0';
  const core = await startCore({
    logLevel: process.env.PX_LOG_LEVEL ?? 'warn',
    processMetrics: true,
    devMode,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping core and its plugins…\n`);
    core.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Re-reads config/plugins/dev_policy.yaml (devMode stays as set above: the option wins).
  process.on('SIGHUP', () => {
    core.reloadPolicy().then(
      () => process.stdout.write('SIGHUP: dev policy re-read\n'),
      (error: unknown) =>
        process.stderr.write(`SIGHUP: dev policy not changed: ${(error as Error).message}\n`),
    );
  });

  let helloLine: string;
  try {
    helloLine = await ensureHelloInstalled(core);
  } catch (error) {
    await core.close();
    throw error;
  }
  const entry = core.entryUrl(SANDBOX, HELLO_ID);
  const lines = [
    `PowerX core ${core.coreVersion} on ${core.url}${core.devMode ? ' (dev mode)' : ''}`,
    ...((await hasAdmin(core)) ? [`  Admin          ${core.url}/admin/`] : []),
    `  API docs       ${core.url}/docs`,
    `  health         ${core.url}/healthz   metrics: ${core.url}/metrics`,
    `  hello plugin   ${helloLine}`,
    `  entry point    ${entry}hello   (try: curl ${entry}hello?name=you)`,
    `  admin token    ${core.dataDir}/admin-token   (export PX_TOKEN=$(cat ${core.dataDir}/admin-token) PX_API_URL=${core.url})`,
    ...(core.adminPassword
      ? [
          `  admin user     admin / ${core.adminPassword}   (shown once; also in ${core.dataDir}/admin-password)`,
        ]
      : []),
    `  data           ${core.dataDir}`,
    // The audit key must stay out of the data folder; for a local setup core made one beside it.
    `  audit key      ${core.auditKey.source}${core.auditKey.generated ? '   (generated now, outside the data folder; keep it: the audit chain verifies only with it)' : ''}`,
    'Ctrl-C stops core.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  if (isPxError(error))
    process.stderr.write(`error ${error.code}: ${error.message}\n  hint: ${error.hint}\n`);
  else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
