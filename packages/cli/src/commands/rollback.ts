import type { Command } from 'commander';
import { PxError, isErrorCode, type Install } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';
import { followInstall } from './install.ts';

export function registerRollback(program: Command, _ctx: CliContext): void {
  program
    .command('rollback')
    .description('serve the last stable version of a plugin again')
    .argument('<plugin>', 'plugin id')
    .requiredOption('-t, --tenant <tenant>', 'sandbox tenant')
    .option('--json', 'print the rollback install as JSON')
    .action(async (plugin: string, opts: { tenant: string; json?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const accepted = await api.post<Install>(
        `/api/tenants/${encodeURIComponent(opts.tenant)}/plugins/${encodeURIComponent(plugin)}/rollback`,
      );
      const install = await followInstall(api, accepted, !opts.json);
      if (install.state === 'failed' && install.error) {
        throw new PxError(
          isErrorCode(install.error.code) ? install.error.code : 'INTERNAL',
          { installId: install.id },
          { message: `rollback failed: ${install.error.message}`, hint: install.error.hint },
        );
      }
      if (opts.json) return out.json(install);
      out.line(`${out.style.ok('✓')} ${plugin} is back on ${install.version} in ${opts.tenant}`);
      if (install.entryUrl) out.line(`  entry point  ${install.entryUrl}`);
    });
}
