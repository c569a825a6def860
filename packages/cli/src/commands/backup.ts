import type { Command } from 'commander';
import { resolve } from 'node:path';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';

/**
 * `px-plugin backup`: an online backup of the core the CLI is logged in to (admin token), as one
 * .tar.gz. Restoring is unpacking it into an empty folder and starting core on it
 * (docs/operations.md, "Backup and restore").
 */
export function registerBackup(program: Command, _ctx: CliContext): void {
  program
    .command('backup')
    .description(
      "online backup of core's data folder (database, plugin versions, data, keys) into one .tar.gz",
    )
    .option(
      '-o, --out <file>',
      'archive to write',
      `powerx-backup-${new Date().toISOString().slice(0, 10)}.tar.gz`,
    )
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nThe archive holds the secrets master key: store it like the data folder itself.\nRestore: mkdir new-data && tar -xzf <archive> -C new-data && PX_DATA_DIR=new-data npm start',
    )
    .action(async (opts: { out: string; json?: boolean }) => {
      const api = await ApiClient.fromEnvironment();
      const file = resolve(opts.out);
      const { bytes, headers } = await api.download('/api/admin/backup', file);
      const summary = JSON.parse(headers.get('x-powerx-backup') ?? '{}') as Record<string, unknown>;
      if (opts.json) return out.json({ file, bytes, ...summary });
      out.line(`${out.style.ok('✓')} backup written to ${file} (${bytes} bytes)`);
      out.line(
        `  ${String(summary.plugins ?? '?')} plugin(s), ${String(summary.versionFolders ?? '?')} version folder(s), audit up to entry ${String(summary.auditHeadSeq ?? '?')}`,
      );
      out.line(`  restore: mkdir <dir> && tar -xzf ${opts.out} -C <dir> && PX_DATA_DIR=<dir> npm start`);
    });
}
