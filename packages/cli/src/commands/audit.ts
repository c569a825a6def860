import type { Command } from 'commander';
import type { AuditPage, AuditVerify } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { out } from '../output.ts';
import { EXIT } from '../report-error.ts';

interface AuditOpts {
  tenant?: string;
  action?: string;
  actor?: string;
  target?: string;
  since?: string;
  limit: string;
  before?: string;
  verify?: boolean;
  json?: boolean;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('audit entries, newest first (or --verify the hash chain)')
    .option('-t, --tenant <tenant>', 'only this tenant')
    .option('--action <action>', 'exact action, or a prefix ending in * (plugin.install.*)')
    .option('--actor <user>', 'only this actor')
    .option('--target <target>', 'only this target (plugin id, key id, …)')
    .option('--since <iso-time>', 'only entries at or after this time')
    .option('-n, --limit <n>', 'how many entries', '50')
    .option('--before <seq>', 'page: entries older than this sequence number')
    .option('--verify', 'recompute the hash chain and report the first altered entry (exit 1 if any)')
    .option('--json', 'print as JSON')
    .action(async (opts: AuditOpts) => {
      const api = await ApiClient.fromEnvironment();
      if (opts.verify) {
        const result = await api.get<AuditVerify>('/api/audit/verify');
        if (!result.ok) ctx.exitCode = EXIT.CHECK_FAILED;
        if (opts.json) return out.json(result);
        return out.line(
          result.ok
            ? `${out.style.ok('✓')} audit chain intact: ${result.entries} entries, head ${result.headHash.slice(0, 16)}…`
            : // No entry to name when the problem is the anchor (missing, edited): the reason says what.
              `${out.style.fail('✗')} audit chain not intact${result.firstBadSeq !== undefined ? ` at entry ${result.firstBadSeq}` : ''}: ${result.reason}`,
        );
      }
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries({
        tenant: opts.tenant,
        action: opts.action,
        actor: opts.actor,
        target: opts.target,
        since: opts.since,
        limit: opts.limit,
        before: opts.before,
      }))
        if (v) q.set(k, v);
      const page = await api.get<AuditPage>(`/api/audit?${q}`);
      if (opts.json) return out.json(page);
      for (const e of page.entries) {
        const outcome =
          e.outcome === 'ok'
            ? out.style.ok(e.outcome)
            : e.outcome === 'started'
              ? e.outcome
              : out.style.fail(e.outcome);
        out.line(
          `${String(e.seq).padStart(6)} ${e.ts}  ${e.actor.padEnd(10)} ${(e.tenant ?? '-').padEnd(12)} ${e.action.padEnd(28)} ${outcome.padEnd(7)} ${e.target ?? ''}${e.details?.code ? ` ${String(e.details.code)}` : ''}`,
        );
      }
      if (page.nextBefore) out.line(out.style.dim(`more: px-plugin audit --before ${page.nextBefore}`));
    });
}
