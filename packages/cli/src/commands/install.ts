import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PxError, isErrorCode, type Install, type InstallConfig, type InstallStage } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { formatBytes, formatMs, out } from '../output.ts';
import { ask, canAsk } from '../wizard-prompt.ts';
import { parseLogLevel, readInstallConfigFile } from '../install-config-file.ts';
import { followInstallProgress } from '../progress-stream.ts';

interface InstallOpts {
  tenant: string;
  env?: string[];
  secret?: string[];
  config?: string;
  logLevel?: string;
  wait: boolean;
  json?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function pairs(list: string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new PxError('USAGE', { detail: `${flag} ${item.split('=')[0]} needs the form NAME=value` });
    result[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return result;
}

/** --config file (JSON or YAML: {env, secrets, logLevel}) with --env/--secret/--log-level on top. */
async function gatherConfig(opts: InstallOpts): Promise<InstallConfig> {
  let fromFile: InstallConfig = {};
  if (opts.config) fromFile = await readInstallConfigFile(opts.config);
  const logLevel = opts.logLevel === undefined ? fromFile.logLevel : parseLogLevel(opts.logLevel);
  return {
    env: { ...fromFile.env, ...pairs(opts.env, '--env') },
    secrets: { ...fromFile.secrets, ...pairs(opts.secret, '--secret') },
    ...(logLevel ? { logLevel } : {}),
  };
}

function failure(install: Install): PxError {
  const e = install.error!;
  return new PxError(
    isErrorCode(e.code) ? e.code : 'INTERNAL',
    { installId: install.id, stage: e.stage },
    { message: `${e.message} (stage ${e.stage}; rolled back)`, hint: e.hint },
  );
}

/** While following live, how often the install is also read over REST (a lost frame never hangs). */
export const SETTLED_CHECK_MS = 2_000;

/** Prints each stage of an install once, when it finished (from live progress or a polled install). */
function stagePrinter(print: boolean): (stages: InstallStage[]) => void {
  const shown = new Set<number>();
  return (stages) => {
    if (!print) return;
    stages.forEach((s, i) => {
      if (shown.has(i) || (s.outcome === 'running' && !s.finishedAt)) return;
      if (s.outcome === 'waiting') return;
      shown.add(i);
      const mark = s.outcome === 'failed' ? out.style.fail('✗') : out.style.ok('✓');
      out.line(
        `  ${mark} ${s.stage.padEnd(16)} ${out.style.dim(s.durationMs !== undefined ? formatMs(s.durationMs) : '')}`,
      );
    });
  };
}

/**
 * Follows an install until it is running, failed or waiting for config, printing each stage as it
 * finishes: live from the channel plugin.install.progress of /api/ws (progress-stream.ts), else
 * (an older core, no WebSocket on the way) by polling the install. Returns the install as REST has it.
 */
export async function followInstall(
  api: ApiClient,
  install: Pick<Install, 'id' | 'tenant'>,
  print: boolean,
): Promise<Install> {
  const printStages = stagePrinter(print);
  const settled = (current: Install) =>
    current.state === 'running' ||
    current.state === 'failed' ||
    (current.state === 'awaiting_config' && current.stages.at(-1)?.outcome === 'waiting');
  if (api.token) {
    // A lost frame must not leave the command waiting forever: the install is also read over REST
    // now and then, and the first of the two to see it settled ends the wait.
    const stop = new AbortController();
    const check = setInterval(() => {
      api.get<Install>(`/api/installs/${install.id}`).then(
        (current) => settled(current) && stop.abort(),
        () => {},
      );
    }, SETTLED_CHECK_MS);
    try {
      await followInstallProgress({
        url: api.url,
        token: api.token,
        tenant: install.tenant,
        installId: install.id,
        signal: stop.signal,
        onProgress: (progress) => {
          printStages(progress.stages);
          return progress.state !== 'in_progress';
        },
      });
    } finally {
      clearInterval(check);
    }
  }
  for (;;) {
    const current = await api.get<Install>(`/api/installs/${install.id}`);
    printStages(current.stages);
    if (settled(current)) return current;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The wizard on a TTY: asks each missing required value (secrets without echo). */
async function askMissing(install: Install): Promise<InstallConfig> {
  const env: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const name of install.missingConfig ?? []) {
    const spec = install.wizard?.env.find((e) => e.name === name);
    if (spec) {
      const type = spec.type === 'enum' ? (spec.enum ?? []).join('|') : (spec.type ?? 'string');
      env[name] = await ask(`${name} (${type})${spec.description ? ` — ${spec.description}` : ''}: `);
    } else {
      const secret = install.wizard?.secrets.find((s) => s.name === name);
      secrets[name] = await ask(
        `${name} (secret, not shown)${secret?.description ? ` — ${secret.description}` : ''}: `,
        { secret: true },
      );
    }
  }
  return { env, secrets };
}

export function registerInstall(program: Command, _ctx: CliContext): void {
  program
    .command('install')
    .description('upload a .pxp into a sandbox tenant, follow it through every stage, print its entry point')
    .argument('<package>', 'the .pxp file (px-plugin build makes one)')
    .requiredOption('-t, --tenant <tenant>', 'sandbox tenant, e.g. sandbox-dev')
    .option('-e, --env <NAME=value>', 'an env value of the install wizard (repeatable)', collect)
    .option(
      '-s, --secret <NAME=value>',
      'a secret value (repeatable; stored encrypted, never shown again)',
      collect,
    )
    .option(
      '-c, --config <file>',
      'wizard values from a JSON or YAML file: {env: {…}, secrets: {…}, logLevel}',
    )
    .option('--log-level <level>', 'plugin log level: trace|debug|info|warn|error|fatal')
    .option('--no-wait', 'return after the upload was accepted, without following the stages')
    .option('--json', 'print the final install as JSON')
    .addHelpText(
      'after',
      '\nMissing required values are asked on a TTY; elsewhere the install waits in awaiting_config and the command fails with the names.\nExamples:\n  px-plugin install dist/com.example.hello-1.0.0.pxp --tenant sandbox-dev\n  px-plugin install hello.pxp -t sandbox-dev -e GREETING=hey -s API_KEY=… --json',
    )
    .action(async (pkg: string, opts: InstallOpts) => {
      const file = resolve(pkg);
      const size = (await stat(file).catch(() => undefined))?.size;
      if (size === undefined) throw new PxError('PXP_NOT_FOUND', { path: pkg });
      const config = await gatherConfig(opts);
      const api = await ApiClient.fromEnvironment();
      const human = !opts.json;
      if (human)
        out.line(
          `Installing ${pkg} (${formatBytes(size)}) into ${out.style.bold(opts.tenant)} on ${api.url}`,
        );
      const started = performance.now();
      const accepted = await api.uploadPackage<Install>('/api/plugins/install/local', file, {
        tenant: opts.tenant,
        config: JSON.stringify(config),
      });
      if (!opts.wait)
        return opts.json
          ? out.json(accepted)
          : out.line(
              `  accepted: install ${accepted.id} (${accepted.state}); follow it with px-plugin status --install ${accepted.id}`,
            );
      let install = await followInstall(api, accepted, human);
      while (install.state === 'awaiting_config') {
        const missing = install.missingConfig ?? [];
        if (!canAsk() || opts.json) {
          throw new PxError(
            'CONFIG_REQUIRED_MISSING',
            { names: missing.join(', '), installId: install.id },
            {
              hint: `Run the install again with --env/--secret/--config (it replaces the waiting one), or complete install ${install.id} in the Admin.`,
            },
          );
        }
        out.line(`  ${out.style.warn('?')} the plugin needs: ${missing.join(', ')}`);
        await api.post(`/api/installs/${install.id}/config`, await askMissing(install));
        install = await followInstall(api, install, human);
      }
      if (install.state === 'failed') throw failure(install);
      if (opts.json) return out.json(install);
      out.line(
        `${out.style.ok('✓')} ${install.pluginId} ${install.version} is running in ${install.tenant} (${formatMs(performance.now() - started)})`,
      );
      out.line(`  entry point  ${out.style.bold(install.entryUrl ?? '')}`);
    });
}
