import type { Command } from 'commander';
import type { InstalledPlugin } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';

export function registerList(program: Command, _ctx: CliContext): void {
  program
    .command('list')
    .description('plugins installed in a tenant')
    .requiredOption('-t, --tenant <tenant>', 'tenant, e.g. sandbox-dev')
    .option('--json', 'print as JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const { plugins } = await api.get<{ plugins: InstalledPlugin[] }>(
        `/api/tenants/${encodeURIComponent(opts.tenant)}/plugins`,
      );
      if (opts.json) return out.json({ tenant: opts.tenant, plugins });
      if (!plugins.length) return out.line(`no plugins in ${opts.tenant}`);
      const width = Math.max(...plugins.map((p) => p.pluginId.length));
      for (const p of plugins)
        out.line(`${p.pluginId.padEnd(width)}  ${p.version.padEnd(10)} ${p.status.padEnd(9)} ${p.entryUrl}`);
    });
}
