import type { Command } from 'commander';
import type { LogLevel, LogLine, LogPage } from '@powerx/protocol';
import { connection } from '../dev/connection.ts';
import { followLogs } from '../log-stream.ts';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';

interface LogsOpts {
  tenant: string;
  follow?: boolean;
  level?: string;
  limit: string;
  json?: boolean;
}

export function registerLogs(program: Command, _ctx: CliContext): void {
  program
    .command('logs')
    .description('log lines of a plugin (each read is audited); -f keeps following')
    .argument('<plugin>', 'plugin id')
    .requiredOption('-t, --tenant <tenant>', 'tenant')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--level <level>', 'this level and above: trace|debug|info|warn|error|fatal')
    .option('-n, --limit <n>', 'how many of the latest lines first', '200')
    .option('--json', 'one JSON object per line (NDJSON)')
    .action(async (plugin: string, opts: LogsOpts) => {
      const api = await ApiClient.fromEnvironment();
      const base = `/api/tenants/${encodeURIComponent(opts.tenant)}/plugins/${encodeURIComponent(plugin)}/logs`;
      const level = opts.level ? `&level=${encodeURIComponent(opts.level)}` : '';
      const print = (line: LogLine) => {
        if (opts.json) return process.stdout.write(JSON.stringify(line) + '\n');
        const lvl =
          line.level === 'error' || line.level === 'fatal'
            ? out.style.fail(line.level)
            : line.level === 'warn'
              ? out.style.warn(line.level)
              : line.level;
        out.line(
          `${out.style.dim(line.ts)} ${lvl.padEnd(5)} ${out.style.dim(`[${line.version} ${line.source}]`)} ${line.msg}${line.fields ? ` ${JSON.stringify(line.fields)}` : ''}`,
        );
      };
      const page = await api.get<LogPage>(`${base}?limit=${encodeURIComponent(opts.limit)}${level}`);
      page.lines.forEach(print);
      if (!opts.follow) return;
      // Following uses the live feed of the Admin and `px-plugin dev` (WebSocket /api/ws, log-stream.ts), resuming after this page.
      const { token } = await connection({});
      const stream = followLogs({
        url: api.url,
        token,
        tenant: opts.tenant,
        plugin,
        level: opts.level as LogLevel | undefined,
        afterId: page.lastId,
        onLines: (lines) => lines.forEach(print),
        onError: (e) => process.stderr.write(`${e.code}: ${e.message}\n`),
      });
      process.once('SIGINT', () => stream.close());
      await stream.closed;
    });
}
