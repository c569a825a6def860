/**
 * `px-plugin dev [--watch]`: hot reload of a plugin project into a sandbox tenant of a dev-mode
 * core. Opens the plugin's dev session, builds (esbuild, incremental), pushes each good build
 * (path mode when core shares the filesystem, upload otherwise), prints every reload with its
 * timing, streams the plugin's logs from /api/ws with reload markers, and on Ctrl-C ends the
 * session (uninstalling the plugin unless --keep). A build error is shown with file:line and
 * nothing is pushed: the running version keeps serving.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readManifestSource } from '@powerx/package-format';
import {
  LOG_LEVELS,
  adminPluginPath,
  entryPath,
  PxError,
  type EffectiveDevPolicy,
  type InstalledPlugin,
  type LogLevel,
} from '@powerx/protocol';
import { DEFAULT_API_URL } from '../api-client.ts';
import { connection } from '../dev/connection.ts';
import type { CliContext } from '../context.ts';
import { DevBuilder } from '../dev/dev-builder.ts';
import { formatPolicy, printBuildError, printReload, note } from '../dev/dev-output.ts';
import { DevSessionClient } from '../dev/dev-session-client.ts';
import { formatLogLine, formatReload } from '../dev/log-printer.ts';
import { Pusher, type PushMode } from '../dev/pusher.ts';
import { watchProject, type ProjectWatcher } from '../dev/watcher.ts';
import { followLogs, type LogStream } from '../log-stream.ts';
import { errorBody } from '../report-error.ts';
import { out } from '../output.ts';

interface DevOpts {
  tenant: string;
  watch?: boolean;
  keep?: boolean;
  push: string;
  debounce: string;
  ignore?: string[];
  level: string;
  logs: boolean;
  url?: string;
  token?: string;
}

export function registerDev(program: Command, _ctx: CliContext): void {
  program
    .command('dev')
    .description(
      'hot reload a plugin project into a sandbox tenant of a dev-mode core (PX_PLUGIN_DEV_MODE=1)',
    )
    .argument('[dir]', 'plugin project folder', '.')
    .option('-t, --tenant <id>', 'sandbox tenant', 'sandbox-dev')
    .option('-w, --watch', 'rebuild and reload on every save (esbuild incremental); Ctrl-C ends the session')
    .option('--keep', 'leave the plugin installed when the session ends')
    .option(
      '--push <mode>',
      'how builds reach core: auto (path when core is on this machine, else upload) | path | upload',
      'auto',
    )
    .option('--debounce <ms>', 'quiet time after a save before building', '50')
    .option(
      '--ignore <glob...>',
      'paths (relative globs) not to watch, besides dist/, .px-dev/, node_modules/, .git/',
    )
    .option('--level <level>', `lowest plugin log level shown (${LOG_LEVELS.join(', ')})`, 'debug')
    .option('--no-logs', 'do not stream the plugin logs')
    .option('--url <url>', `core URL (default: $PX_API_URL, px-plugin login, or ${DEFAULT_API_URL})`)
    .option('--token <token>', 'API token (default: $PX_TOKEN or px-plugin login)')
    .addHelpText(
      'after',
      '\nExamples:\n  px-plugin dev --watch\n  px-plugin dev --watch --keep --tenant my-sandbox\n  px-plugin dev --watch --url https://core.example.com --token "$TOKEN"',
    )
    .action(async (dir: string, opts: DevOpts) => runDev(resolve(dir), opts));
}

async function runDev(dir: string, opts: DevOpts): Promise<void> {
  const mode = opts.push as PushMode;
  if (!['auto', 'path', 'upload'].includes(mode))
    throw new PxError('USAGE', { detail: `--push must be auto, path or upload, not "${opts.push}"` });
  if (!LOG_LEVELS.includes(opts.level as LogLevel))
    throw new PxError('USAGE', { detail: `--level must be one of ${LOG_LEVELS.join(', ')}` });
  const manifest = await readManifestSource(dir);
  const { api, token } = await connection(opts);
  const session = new DevSessionClient(api, opts.tenant, manifest.id);
  await session.open();
  const s = out.style;
  out.line(
    `${s.ok('●')} dev session for ${s.bold(manifest.id)} in tenant ${s.bold(opts.tenant)} on ${api.url}${opts.watch ? ` — watching ${dir}, Ctrl-C ends it${opts.keep ? ' (--keep: the plugin stays installed)' : ''}` : ''}`,
  );
  // Where to look, before the first build lands: the entry point answers once a reload serves.
  out.line(`  entry point  ${s.bold(`${api.url}${entryPath(opts.tenant, manifest.id)}`)}`);
  out.line(`  admin        ${api.url}${adminPluginPath(opts.tenant, manifest.id)}`);
  const policy = await api.get<EffectiveDevPolicy>('/api/plugins/dev/policy').catch(() => undefined);
  if (policy) out.line(formatPolicy(policy, opts.tenant));
  // A plugin installed before the session (e.g. the quick start's signed hello) is replaced by the
  // dev builds, and Ctrl-C without --keep uninstalls the plugin: say so now, not only at the end.
  const before = await api
    .get<InstalledPlugin>(
      `/api/tenants/${encodeURIComponent(opts.tenant)}/plugins/${encodeURIComponent(manifest.id)}`,
    )
    .catch(() => undefined);
  if (before && opts.watch && !opts.keep) {
    out.line(
      `${s.warn('!')} ${manifest.id} ${before.version} was already installed in ${opts.tenant} before this session: dev builds replace it, and Ctrl-C uninstalls the plugin (use --keep to leave it installed)`,
    );
  }

  const builder = new DevBuilder(dir);
  const pusher = new Pusher(api, { tenant: opts.tenant, sessionId: session.id, mode });
  session.onRenewed = (renewed) => {
    pusher.sessionId = renewed.id;
    note(`  (session renewed: core had lost it, e.g. after a restart)`);
  };
  session.onTrouble = (message) => note(`  (heartbeat failed: ${message}; retrying)`);

  let logs: LogStream | undefined;
  if (opts.logs) {
    logs = followLogs({
      url: api.url,
      token,
      tenant: opts.tenant,
      plugin: manifest.id,
      level: opts.level as LogLevel,
      backfill: 0,
      onLines: (lines) => lines.forEach((line) => out.line(formatLogLine(line))),
      // Reloads this terminal started are printed from their answer; a rollback after a crash in the grace window only arrives here.
      onReload: (reload) => {
        if (reload.result === 'rolled_back') out.line(formatReload(reload));
      },
      onStatus: (status, detail) => {
        if (detail) note(`  (logs ${status}: ${detail})`);
      },
      onError: (e) => note(`  (logs: ${e.code} ${e.message})`),
    });
  }

  let n = 0;
  let serving: string | undefined;
  let stopping = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  const cycle = async () => {
    n++;
    const build = await builder.build();
    if (!build.ok) {
      failures++;
      const detail = printBuildError(n, build.error, serving);
      await session.reportBuildError(detail);
      return;
    }
    try {
      const reload = await pusher.push(build.dir);
      printReload(n, build.ms, reload);
      if (reload.serving) serving = reload.serving.version;
      if (reload.result === 'failed') failures++;
    } catch (error) {
      failures++;
      const body = errorBody(error);
      const unreachable = body.code === 'CORE_UNREACHABLE';
      out.line(
        `${s.fail('✗')} reload #${n} not pushed: ${body.code} ${body.message}${unreachable ? ' — retrying in 2 s' : body.hint ? `\n  ${s.dim('hint:')} ${body.hint}` : ''}`,
      );
      // Core away (restarting, network): push the newest build again once it is back.
      if (unreachable && !stopping) retry = setTimeout(kick, 2000);
    }
  };
  // Saves during a build/push are coalesced: one more cycle runs after it, with the newest files.
  let dirty = false;
  let running: Promise<void> | undefined;
  const kick = () => {
    dirty = true;
    running ??= (async () => {
      while (dirty) {
        dirty = false;
        await cycle();
      }
      running = undefined;
    })();
  };

  kick();
  let watcher: ProjectWatcher | undefined;
  if (opts.watch) {
    watcher = watchProject(dir, {
      debounceMs: Number(opts.debounce) || 50,
      ignore: opts.ignore,
      onChange: kick,
    });
    await watcher.ready;
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    out.line('');
  }
  stopping = true;
  clearTimeout(retry);
  await watcher?.close();
  await running;
  await builder.dispose();
  // Without --watch: one push, the plugin stays (the session ends, the install is the point).
  const keep = !opts.watch || !!opts.keep;
  if (!keep)
    out.line(
      `  uninstalling ${manifest.id} from ${opts.tenant}${before ? ` (it had ${before.version} installed before this session; that is removed too — --keep leaves it)` : ''}`,
    );
  const ended = await session.end({ keep }).catch((error: unknown) => {
    note(`  (could not end the session: ${(error as Error).message}; it expires by itself)`);
    return undefined;
  });
  logs?.close();
  await builder.clean();
  if (opts.watch)
    out.line(
      `${s.ok('●')} dev session ended${ended?.uninstalled ? ' · plugin uninstalled' : keep ? ' · plugin kept installed' : ''}`,
    );
  if (!opts.watch && failures)
    throw new PxError(
      'BUILD_FAILED',
      { detail: 'the reload did not succeed (see above)' },
      {
        message: 'The dev install did not succeed',
        hint: 'Fix the error shown above and run again, or use --watch.',
      },
    );
}
