/** What `px-plugin dev` prints for each reload: outcome, version and the timing of each step. */
import { errorBody } from '../report-error.ts';
import { formatMs, out, styleFor } from '../output.ts';
import type { DevReload, EffectiveDevPolicy } from '@powerx/protocol';

export function printReload(n: number, buildMs: number, r: DevReload & { mode: string }): void {
  const s = out.style;
  const t = r.timings;
  const steps = `build ${formatMs(buildMs)} · push ${formatMs(t.pushMs)} (${r.mode}) · validate ${formatMs(t.validateMs)} · start ${formatMs(t.startMs)} · health ${formatMs(t.healthMs)} · switch ${formatMs(t.switchMs)}`;
  const total = s.bold(`total ${formatMs(buildMs + t.totalMs)}`);
  if (r.result === 'running') {
    out.line(
      `${s.ok('↻')} reload #${n} ${s.ok('✓')} ${s.bold(`${r.pluginId} ${r.version}`)} serving ${s.dim(`(${r.contentSha256?.slice(0, 12)})`)}`,
    );
    out.line(`  ${steps} · ${total}`);
  } else if (r.result === 'unchanged') {
    out.line(
      `${s.dim('↻')} reload #${n} ${s.dim(`unchanged build, ${r.version} keeps serving (build ${formatMs(buildMs)})`)}`,
    );
  } else if (r.result === 'superseded') {
    out.line(`${s.dim('↻')} reload #${n} ${s.dim('superseded by a newer save')}`);
  } else {
    const e = r.error;
    out.line(
      `${s.fail('✗')} reload #${n} ${s.fail(`${r.result}${e?.stage ? ` at ${e.stage}` : ''}`)}: ${e?.code} ${e?.message ?? ''}`,
    );
    out.line(
      `  ${r.serving ? s.warn(`${r.serving.version} keeps serving`) : s.warn('nothing is serving')}${e?.hint ? ` · ${s.dim('hint:')} ${e.hint}` : ''}`,
    );
    out.line(`  ${steps} · ${total}`);
  }
}

export function printBuildError(n: number, error: unknown, serving: string | undefined): string {
  const s = out.style;
  const body = errorBody(error);
  out.line(
    `${s.fail('✗')} build #${n} failed, nothing pushed${serving ? ` · ${s.warn(`${serving} keeps serving`)}` : ''}`,
  );
  const detail = typeof body.details?.detail === 'string' ? body.details.detail : body.message;
  for (const line of detail.split('\n')) out.line(`  ${s.fail(line.trim())}`);
  const d = body.details;
  if (d && typeof d.lineText === 'string' && typeof d.line === 'number') {
    const gutter = `${d.line} | `;
    out.line(`    ${s.dim(gutter)}${d.lineText}`);
    out.line(
      `    ${' '.repeat(gutter.length + (typeof d.column === 'number' ? d.column : 1) - 1)}${s.fail('^')}`,
    );
  }
  return detail;
}

export function note(text: string): void {
  process.stderr.write(`${styleFor(process.stderr).dim(text)}\n`);
}

/** The dev policy core applies to this session, in one line (GET /api/plugins/dev/policy). */
export function formatPolicy(p: EffectiveDevPolicy, tenant: string): string {
  const unsigned = p.unsignedDevBuilds.tenants[tenant] ?? p.unsignedDevBuilds.default;
  const roots = p.roots.length
    ? `path installs from ${p.roots.join(', ')}`
    : 'no path installs (builds are uploaded)';
  const overridden = p.overrides.length
    ? ` · overridden: ${p.overrides.map((o) => `${o.field} (${o.source})`).join(', ')}`
    : '';
  return out.style.dim(
    `  policy ${p.file}: ${unsigned ? 'unsigned dev builds allowed' : 'unsigned dev builds refused'} in ${tenant} · ${roots} · sessions expire after ${p.sessions.idleTimeoutSeconds} s without heartbeat, ${p.sessions.maxPerUser} per user · logs kept ${p.retention.logDays} d, dev audit details ${p.retention.devAuditDays} d${overridden}`,
  );
}
