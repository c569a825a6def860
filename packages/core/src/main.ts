/**
 * `node packages/core/src/main.ts`: starts core from the environment (every PX_* setting of
 * config/core-config.ts) and prints where everything is. Stops cleanly on
 * SIGINT/SIGTERM (plugins get SIGTERM, then SIGKILL). SIGHUP re-reads the dev policy file
 * (config/plugins/dev_policy.yaml) without a restart.
 */
import { isPxError } from '@powerx/protocol';
import { startCore } from './start-core.ts';

try {
  const core = await startCore();
  const lines = [
    `PowerX core ${core.coreVersion} listening on ${core.url}${core.devMode ? ' (dev mode)' : ''}`,
    `  API docs      ${core.url}/docs`,
    `  health        ${core.url}/healthz   ready: ${core.url}/readyz   metrics: ${core.url}/metrics`,
    `  data dir      ${core.dataDir}`,
    `  admin token   ${core.dataDir}/admin-token`,
    ...(core.adminPassword
      ? [
          `  admin user    admin / ${core.adminPassword}   (shown once; also in ${core.dataDir}/admin-password)`,
        ]
      : []),
    ...(core.recovery.rolledBack
      ? [`  recovered     rolled back ${core.recovery.rolledBack} unfinished install(s)`]
      : []),
    `  plugins       ${core.recovery.started} serving${core.recovery.failed ? `, ${core.recovery.failed} failed to start` : ''}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping core…\n`);
    core.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGHUP', () => {
    core.reloadPolicy().then(
      () => process.stdout.write(`SIGHUP: dev policy re-read from ${core.policy.file}\n`),
      (error: unknown) =>
        process.stderr.write(
          `SIGHUP: dev policy not changed: ${isPxError(error) ? `${error.code}: ${error.message}` : String(error)}\n`,
        ),
    );
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  if (isPxError(error))
    process.stderr.write(`error ${error.code}: ${error.message}\n  hint: ${error.hint}\n`);
  else process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
