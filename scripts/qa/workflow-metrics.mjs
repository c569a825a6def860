#!/usr/bin/env node
/**
 * Workflow metrics of a PowerX core, read from its store (running or stopped): for a time window,
 * install duration p50/p95 by flow (upload, dev), success rates, rollback counts by reason and
 * the top failure codes. Read-only: the SQLite file is opened with readOnly and never written.
 *
 *   npm exec -- node scripts/qa/workflow-metrics.mjs --data-dir .px-data [--since 24h] [--json]
 *
 * --data-dir   core's data folder (default $PX_DATA_DIR or ./.px-data); the store is <dir>/core.db
 * --since      window start: a duration back from now (30m, 24h, 7d) or an ISO date (default 24h)
 * --until      window end, ISO date (default now)
 * --tenant     only this tenant
 * --json       one JSON document on stdout instead of the text report
 *
 * How flows are told apart: the `flow` column of the install (`upload` | `dev`, core migration
 * 0002-install-flow; set when the install is created, so it survives restarts and the audit
 * retention). The dev audit entries (plugin.dev.reload when it serves, plugin.dev.rollback when it
 * failed — also after a crash in its grace window) still refine a dev reload: its duration as the
 * developer saw it, and a reload that switched and then crashed counts as failed. A dev install
 * with no such entry (interrupted by a core restart, or past the audit retention) counts from its
 * row. Stores from before the column: dev installs are known from the audit only (as before).
 * Rollbacks are failed installs by the stage that failed and by error code,
 * plus manual rollbacks to the last stable version (`px-plugin rollback`).
 *
 * Exit codes: 0 report printed, 2 usage error or no store at the path.
 */
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { findRepoNode, nodeAtLeast, reexec } from '../../packages/cli/bin/node-reexec.js';

// node:sqlite arrived in Node 22.5. On an older system Node (the README promises any Node >= 18
// runs this), run again with the repository's Node 26 before anything touches node:sqlite.
const SQLITE_NODE = '22.5.0';
const self = realpathSync(fileURLToPath(import.meta.url));
const isMain =
  import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('workflow-metrics.mjs');
const reexecuted = isMain && !nodeAtLeast(SQLITE_NODE) && startWithRepoNode();
const { DatabaseSync } = reexecuted ? {} : await import('node:sqlite');

function startWithRepoNode() {
  const nodeBin = findRepoNode(self);
  if (!nodeBin || process.env.PX_WORKFLOW_METRICS_REEXEC === '1') {
    process.stderr.write(
      `workflow-metrics: needs Node.js ${SQLITE_NODE} or later for node:sqlite (this is ${process.version}) and could not find the repository's Node 26.\n` +
        'hint: run `npm install` in the PowerX repository (it installs Node 26 as the `node` dev dependency), or use `npm run workflow-metrics -- …`.\n',
    );
    process.exit(3);
  }
  reexec(nodeBin, self, {
    guardEnv: 'PX_WORKFLOW_METRICS_REEXEC',
    onSpawnError: (error) => `workflow-metrics: could not start ${nodeBin}: ${error.message}\n`,
  });
  return true;
}

const USAGE =
  'usage: node scripts/qa/workflow-metrics.mjs --data-dir <dir> [--since 24h|7d|<ISO date>] [--until <ISO date>] [--tenant <id>] [--json]';

function fail(message) {
  process.stderr.write(`workflow-metrics: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** "30m" | "24h" | "7d" | "90s" back from `now`, or an ISO date. */
export function parseSince(value, now = new Date()) {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(value);
  if (m) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2]];
    return new Date(now.getTime() - Number(m[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new Error(`--since ${JSON.stringify(value)} is neither a duration (30m, 24h, 7d) nor a date`);
  return date;
}

/** Nearest-rank percentile of a list of numbers; null for an empty list. */
export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function parseJson(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function flowStats(entries) {
  const ok = entries.filter((e) => e.ok);
  const failed = entries.filter((e) => !e.ok);
  const okDurations = ok.map((e) => e.durationMs).filter((d) => typeof d === 'number');
  const allDurations = entries.map((e) => e.durationMs).filter((d) => typeof d === 'number');
  return {
    installs: entries.length,
    succeeded: ok.length,
    failed: failed.length,
    successRate: entries.length ? ok.length / entries.length : null,
    // Time to running of the successful ones: what a developer waits for.
    durationMs: {
      p50: percentile(okDurations, 50),
      p95: percentile(okDurations, 95),
      count: okDurations.length,
    },
    // Including failures (upload to rolled back).
    allDurationMs: {
      p50: percentile(allDurations, 50),
      p95: percentile(allDurations, 95),
      count: allDurations.length,
    },
  };
}

/** Reads the store and computes the report. Exported for tests. */
export function workflowMetrics({ dataDir, since, until = new Date(), tenant }) {
  const file = join(resolve(dataDir), 'core.db');
  if (!existsSync(file))
    throw Object.assign(
      new Error(`no core store at ${file} (is --data-dir the folder core was started with?)`),
      { usage: true },
    );
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    const from = since.toISOString();
    const to = until.toISOString();
    const tenantSql = tenant ? ' AND tenant_id = ?' : '';
    const params = tenant ? [from, to, tenant] : [from, to];
    const hasFlow = !!db
      .prepare(`SELECT 1 AS ok FROM pragma_table_info('installs') WHERE name = 'flow'`)
      .get();
    const installs = db
      .prepare(
        `SELECT id, kind, tenant_id, plugin_id, state, error_code, error_stage, duration_ms, created_at, ${hasFlow ? 'flow' : `'upload' AS flow`} FROM installs WHERE created_at >= ? AND created_at <= ?${tenantSql} ORDER BY created_at`,
      )
      .all(...params);
    const byId = new Map(installs.map((r) => [r.id, r]));
    // Dev reloads by reload id (one reload can have a "serving" entry and then a rollback after a crash).
    const devAudit = db
      .prepare(
        `SELECT action, outcome, details, ts FROM audit_log WHERE action IN ('plugin.dev.reload', 'plugin.dev.rollback') AND ts >= ?${tenant ? ' AND tenant = ?' : ''} ORDER BY seq`,
      )
      .all(...(tenant ? [from, tenant] : [from]));
    const reloads = new Map();
    for (const entry of devAudit) {
      const d = parseJson(entry.details);
      if (!d?.installId) continue;
      const key = d.reload ?? d.installId;
      const r = reloads.get(key) ?? {
        installIds: new Set(),
        ok: true,
        durationMs: undefined,
        code: undefined,
        stage: undefined,
      };
      r.installIds.add(d.installId);
      if (entry.action === 'plugin.dev.reload') r.durationMs ??= d.durationMs;
      else {
        r.ok = false;
        r.code = d.code;
        r.stage = d.stage ?? 'unknown';
      }
      reloads.set(key, r);
    }
    const auditedDevIds = new Set([...reloads.values()].flatMap((r) => [...r.installIds]));
    const devInstallIds = new Set([
      ...auditedDevIds,
      ...installs.filter((r) => r.kind === 'install' && r.flow === 'dev').map((r) => r.id),
    ]);
    const dev = [];
    for (const r of reloads.values()) {
      const rows = [...r.installIds].map((id) => byId.get(id)).filter(Boolean);
      if (!rows.length) continue; // install outside the window
      dev.push({
        ok: r.ok,
        durationMs: r.durationMs ?? rows[0].duration_ms ?? undefined,
        code: r.ok ? undefined : (r.code ?? rows[0].error_code),
        stage: r.ok ? undefined : r.stage,
      });
    }
    // Dev installs the audit says nothing about (a core restart interrupted them, or past retention): from the row.
    for (const r of installs) {
      if (
        r.kind !== 'install' ||
        r.flow !== 'dev' ||
        auditedDevIds.has(r.id) ||
        (r.state !== 'running' && r.state !== 'failed')
      )
        continue;
      dev.push({
        ok: r.state === 'running',
        durationMs: r.duration_ms ?? undefined,
        code: r.error_code ?? undefined,
        stage: r.error_stage ?? undefined,
      });
    }
    const uploadRows = installs.filter(
      (r) =>
        r.kind === 'install' && !devInstallIds.has(r.id) && (r.state === 'running' || r.state === 'failed'),
    );
    const upload = uploadRows.map((r) => ({
      ok: r.state === 'running',
      durationMs: r.duration_ms ?? undefined,
      code: r.error_code ?? undefined,
      stage: r.error_stage ?? undefined,
    }));
    const inFlight = installs.filter(
      (r) =>
        r.kind === 'install' && !devInstallIds.has(r.id) && r.state !== 'running' && r.state !== 'failed',
    ).length;

    const rollbacks = new Map();
    const addRollback = (flow, reason, code) => {
      const key = `${flow}\0${reason}`;
      const entry = rollbacks.get(key) ?? { flow, reason, count: 0, codes: {} };
      entry.count++;
      if (code) entry.codes[code] = (entry.codes[code] ?? 0) + 1;
      rollbacks.set(key, entry);
    };
    for (const e of upload) if (!e.ok) addRollback('upload', e.stage ?? 'unknown', e.code);
    for (const e of dev) if (!e.ok) addRollback('dev', e.stage ?? 'unknown', e.code);
    const manual = installs.filter((i) => i.kind === 'rollback').length;
    for (let i = 0; i < manual; i++) addRollback('manual', 'rollback to last stable', undefined);

    const codes = new Map();
    for (const [flow, list] of [
      ['upload', upload],
      ['dev', dev],
    ]) {
      for (const e of list) {
        if (e.ok || !e.code) continue;
        const entry = codes.get(e.code) ?? { code: e.code, count: 0, flows: {} };
        entry.count++;
        entry.flows[flow] = (entry.flows[flow] ?? 0) + 1;
        codes.set(e.code, entry);
      }
    }
    return {
      store: file,
      window: { since: from, until: to, ...(tenant ? { tenant } : {}) },
      flows: { upload: { ...flowStats(upload), inFlight }, dev: flowStats(dev) },
      rollbacks: [...rollbacks.values()].sort(
        (a, b) => b.count - a.count || a.flow.localeCompare(b.flow) || a.reason.localeCompare(b.reason),
      ),
      topFailureCodes: [...codes.values()]
        .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code))
        .slice(0, 10),
    };
  } finally {
    db.close();
  }
}

function seconds(ms) {
  return ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`;
}

function percent(ratio) {
  return ratio === null || ratio === undefined ? '-' : `${(ratio * 100).toFixed(1)} %`;
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatReport(report) {
  const lines = [];
  lines.push(
    `PowerX workflow metrics — ${report.window.since} → ${report.window.until}${report.window.tenant ? `, tenant ${report.window.tenant}` : ''}`,
  );
  lines.push(`store: ${report.store}`);
  lines.push('');
  lines.push(
    table([
      ['flow', 'installs', 'succeeded', 'failed', 'success rate', 'p50 (to running)', 'p95 (to running)'],
      ...Object.entries(report.flows).map(([flow, f]) => [
        flow,
        f.installs,
        f.succeeded,
        f.failed,
        percent(f.successRate),
        seconds(f.durationMs.p50),
        seconds(f.durationMs.p95),
      ]),
    ]),
  );
  if (report.flows.upload.inFlight)
    lines.push(`(${report.flows.upload.inFlight} upload install(s) still in progress are not counted)`);
  lines.push('');
  lines.push('Rollbacks by reason');
  if (!report.rollbacks.length) lines.push('  none');
  else
    lines.push(
      table([
        ['  flow', 'failed stage / reason', 'count', 'codes'],
        ...report.rollbacks.map((r) => [
          `  ${r.flow}`,
          r.reason,
          r.count,
          Object.entries(r.codes)
            .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
            .map(([c, n]) => `${c}×${n}`)
            .join(', ') || '-',
        ]),
      ]),
    );
  lines.push('');
  lines.push('Top failure codes');
  if (!report.topFailureCodes.length) lines.push('  none');
  else
    lines.push(
      table([
        ['  code', 'count', 'flows'],
        ...report.topFailureCodes.map((c) => [
          `  ${c.code}`,
          c.count,
          Object.entries(c.flows)
            .map(([f, n]) => `${f} ${n}`)
            .join(', '),
        ]),
      ]),
    );
  return lines.join('\n') + '\n';
}

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        'data-dir': { type: 'string' },
        since: { type: 'string', default: '24h' },
        until: { type: 'string' },
        tenant: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail(error.message);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const dataDir = args['data-dir'] ?? process.env.PX_DATA_DIR ?? './.px-data';
  let since, until;
  try {
    until = args.until ? new Date(args.until) : new Date();
    if (Number.isNaN(until.getTime())) throw new Error(`--until ${JSON.stringify(args.until)} is not a date`);
    since = parseSince(args.since, until);
  } catch (error) {
    fail(error.message);
  }
  let report;
  try {
    report = workflowMetrics({ dataDir, since, until, tenant: args.tenant });
  } catch (error) {
    if (error.usage) fail(error.message);
    throw error;
  }
  process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
}

if (isMain && !reexecuted) await main();
