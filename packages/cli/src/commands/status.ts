import type { Command } from 'commander';
import { PxError, type Install, type InstalledPlugin } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { formatMs, out } from '../output.ts';
import { isolationLine } from '../isolation-line.ts';

export function registerStatus(program: Command, _ctx: CliContext): void {
  program
    .command('status')
    .description(
      'status of an installed plugin (instance, versions, recent installs) or of one install (stages)',
    )
    .argument('[plugin]', 'plugin id')
    .option('-t, --tenant <tenant>', 'tenant of the plugin')
    .option('-i, --install <id>', 'show one install with its stages instead')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  px-plugin status com.example.hello --tenant sandbox-dev\n  px-plugin status --install 4f0c…',
    )
    .action(
      async (plugin: string | undefined, opts: { tenant?: string; install?: string; json?: boolean }) => {
        const api = await ApiClient.fromEnvironment();
        if (opts.install) {
          const install = await api.get<Install>(`/api/installs/${encodeURIComponent(opts.install)}`);
          if (opts.json) return out.json(install);
          out.line(
            `install ${install.id}: ${install.kind} of ${install.pluginId ?? '?'} ${install.version ?? ''} into ${install.tenant} — ${out.style.bold(install.state)}`,
          );
          for (const s of install.stages)
            out.line(
              `  ${s.outcome === 'failed' ? out.style.fail('✗') : s.outcome === 'ok' ? out.style.ok('✓') : '…'} ${s.stage.padEnd(16)} ${s.durationMs !== undefined ? formatMs(s.durationMs) : s.outcome}`,
            );
          if (install.error)
            out.line(
              `  ${out.style.fail(install.error.code)} at ${install.error.stage}: ${install.error.message}\n  hint: ${install.error.hint}`,
            );
          if (install.entryUrl) out.line(`  entry point  ${install.entryUrl}`);
          return;
        }
        if (!plugin || !opts.tenant)
          throw new PxError('USAGE', { detail: 'give a plugin id and --tenant, or --install <id>' });
        const p = await api.get<InstalledPlugin>(
          `/api/tenants/${encodeURIComponent(opts.tenant)}/plugins/${encodeURIComponent(plugin)}`,
        );
        const installs = (
          await api.get<{ installs: Install[] }>(
            `/api/installs?tenant=${encodeURIComponent(opts.tenant)}&plugin=${encodeURIComponent(plugin)}&limit=5`,
          )
        ).installs;
        if (opts.json) return out.json({ plugin: p, installs });
        out.line(
          `${out.style.bold(p.pluginId)} ${p.version} in ${p.tenant}: ${p.status === 'running' ? out.style.ok(p.status) : out.style.fail(p.status)}`,
        );
        out.line(`  entry point   ${p.entryUrl}`);
        if (p.failure)
          out.line(
            `  ${out.style.fail(p.failure.code)} while ${p.failure.stage}: ${p.failure.message}\n  hint: ${p.failure.hint}`,
          );
        if (p.lastStableVersion)
          out.line(
            `  last stable   ${p.lastStableVersion} (px-plugin rollback ${p.pluginId} --tenant ${p.tenant})`,
          );
        if (p.instance)
          out.line(
            `  instance      ${p.instance.id} pid ${p.instance.pid ?? '-'} ${p.instance.state}, ${p.instance.usage.rssMb} MB RSS, ${p.instance.usage.cpuPercent}% CPU, restarts ${p.instance.restarts}`,
          );
        if (p.instance) out.line(`  isolation     ${isolationLine(p.instance.isolation)}`);
        if (p.storage)
          out.line(
            `  storage       ${(p.storage.usedBytes / 1024 / 1024).toFixed(1)} of ${p.storage.limitMb} MB (ctx.storage, resources.storageMb)`,
          );
        out.line('  recent installs:');
        for (const i of installs)
          out.line(
            `    ${i.createdAt}  ${i.kind.padEnd(11)} ${(i.version ?? '').padEnd(8)} ${i.state}${i.error ? ` ${i.error.code} at ${i.error.stage}` : ''}`,
          );
      },
    );
}
