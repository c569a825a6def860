import type { Command } from 'commander';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';

export function registerUninstall(program: Command, _ctx: CliContext): void {
  program
    .command('uninstall')
    .description('stop a plugin and remove its files, data, secrets and rows from a sandbox tenant')
    .argument('<plugin>', 'plugin id')
    .requiredOption('-t, --tenant <tenant>', 'sandbox tenant')
    .option('--force', 'also when other installed plugins require it')
    .option('--json', 'print the result as JSON')
    .action(async (plugin: string, opts: { tenant: string; force?: boolean; json?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      await api.delete(
        `/api/tenants/${encodeURIComponent(opts.tenant)}/plugins/${encodeURIComponent(plugin)}${opts.force ? '?force=true' : ''}`,
      );
      if (opts.json) return out.json({ ok: true, tenant: opts.tenant, plugin });
      out.line(`${out.style.ok('✓')} ${plugin} uninstalled from ${opts.tenant}`);
    });
}
