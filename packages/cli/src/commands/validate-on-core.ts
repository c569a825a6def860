/**
 * `px-plugin validate <target> --tenant T`: the same package checked by core for tenant T — the
 * shared validator plus what depends on the tenant (dependencies, conflicts, runtime kind,
 * quota) and whether it would also fit T's production counterpart. Nothing is installed.
 */
import type { ValidateResponse, ValidationCheck } from '@powerx/protocol';
import { ApiClient } from '../api-client.ts';
import type { CliContext } from '../context.ts';
import { formatMs, out } from '../output.ts';
import { EXIT } from '../report-error.ts';

export async function validateOnCore(
  ctx: CliContext,
  packagePath: string,
  opts: { tenant: string; url?: string; json?: boolean },
): Promise<void> {
  const api = await ApiClient.fromEnvironment({ url: opts.url });
  const report = await api.uploadPackage<ValidateResponse>(
    `/internal/plugins/packages/validate?tenant=${encodeURIComponent(opts.tenant)}`,
    packagePath,
    { tenant: opts.tenant },
  );
  if (!report.ok) ctx.exitCode = EXIT.CHECK_FAILED;
  if (opts.json) return out.json(report);
  const s = out.style;
  out.line(`Validated by core ${api.url} for tenant ${opts.tenant}`);
  const width = Math.max(...report.checks.map((c) => c.title.length));
  for (const check of report.checks) out.line(remoteCheckLine(check, width));
  if (report.production)
    out.line(
      report.production.fits
        ? `${s.ok('✓')} ${report.production.summary}`
        : `${s.warn('!')} ${report.production.summary}`,
    );
  const failed = report.checks.filter((c) => !c.ok && !c.warning).length;
  out.line(
    report.ok
      ? `${s.ok('✓')} valid for ${opts.tenant} ${s.dim(`(${formatMs(report.durationMs)})`)}`
      : `${s.fail('✗')} invalid for ${opts.tenant}: ${failed} of ${report.checks.length} checks failed`,
  );
}

function remoteCheckLine(check: ValidationCheck, width: number): string {
  const s = out.style;
  const title = check.title.padEnd(width);
  if (check.ok) return `  ${s.ok('✓')} ${title}  ${s.dim(check.message)}`;
  const mark = check.warning ? s.warn('!') : s.fail('✗');
  const hint = check.hint ? `\n      ${s.dim('hint:')} ${check.hint}` : '';
  return `  ${mark} ${title}  ${check.code ? `${check.warning ? s.warn(check.code) : s.fail(check.code)} ` : ''}${check.message}${hint}`;
}
