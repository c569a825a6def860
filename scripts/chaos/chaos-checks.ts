/* eslint-disable @typescript-eslint/no-explicit-any -- API bodies are checked field by field here */
/**
 * What must be true after any crash, once core is up again: the consistency checks of the chaos
 * harness. Each returns the problems it found, as sentences (an empty list is a pass).
 *
 * - states: no install left mid-way (only terminal ones, or one waiting for configuration);
 *   an uninstalled plugin has no install row still saying `running`;
 * - processes: exactly one plugin process per installed plugin;
 * - served version: every installed plugin is `running` and its entry point answers with the
 *   version the database says is active;
 * - folders: the version folders on disk are exactly the ones the rows name (active, last stable,
 *   waiting), no folder of a plugin that is not installed, staging and uploads empty;
 * - audit: the hash chain and its anchor verify, and no stage of an install lacks its entry (each
 *   stage is committed with its `plugin.<kind>.stage` entry; a serving failure has
 *   `plugin.instance.failed` instead).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pluginProcesses } from './chaos-core.ts';

const TENANT = 'sandbox-dev';

async function api(url: string, token: string, path: string): Promise<any> {
  const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
  return r.json();
}

export async function checkConsistency(
  dataDir: string,
  url: string,
  token: string,
): Promise<{ problems: string[]; notes: string[] }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const db = new DatabaseSync(join(dataDir, 'core.db'), { readOnly: true });
  let plugins: Array<{
    plugin_id: string;
    active_install_id: string;
    active_version: string;
    last_stable_install_id: string | null;
  }>;
  let installs: Array<{ id: string; plugin_id: string | null; state: string; version_dir: string | null }>;
  try {
    plugins = db
      .prepare(
        'select plugin_id, active_install_id, active_version, last_stable_install_id from plugins where tenant_id = ?',
      )
      .all(TENANT) as typeof plugins;
    installs = db
      .prepare('select id, plugin_id, state, version_dir from installs where tenant_id = ?')
      .all(TENANT) as typeof installs;
  } finally {
    db.close();
  }
  const installed = new Set(plugins.map((p) => p.plugin_id));
  const unaudited = stagesWithoutEntry(dataDir);
  if (unaudited.length) problems.push(`stages without their audit entry: ${unaudited.join(', ')}`);

  // states
  for (const row of installs) {
    if (['running', 'failed', 'uninstalled'].includes(row.state)) continue;
    if (row.state === 'awaiting_config') continue;
    problems.push(`install ${row.id} (${row.plugin_id}) is stuck in ${row.state}`);
  }
  for (const row of installs)
    if (row.state === 'running' && row.plugin_id && !installed.has(row.plugin_id))
      problems.push(`install ${row.id} of uninstalled ${row.plugin_id} still says running`);

  // served version (a plugin recorded `failed` — it did not start at core start, e.g. a health
  // timeout on an overloaded machine — is consistent as long as nothing of it runs: noted, not a problem)
  const listed = await api(url, token, `/api/tenants/${TENANT}/plugins`);
  const list: any[] = Array.isArray(listed) ? listed : (listed.plugins ?? []);
  const failed = new Set<string>();
  for (const p of plugins) {
    const shown = list.find((l) => l.pluginId === p.plugin_id);
    if (shown?.status === 'failed') {
      failed.add(p.plugin_id);
      notes.push(`${p.plugin_id} recorded failed: ${shown.failure?.code ?? 'did not start'}`);
      continue;
    }
    if (shown?.status !== 'running') problems.push(`${p.plugin_id} is ${shown?.status ?? 'not listed'}`);
    const r = await fetch(`${url}/_p/${TENANT}/${p.plugin_id}/`).catch(() => undefined);
    if (r?.status !== 200) {
      problems.push(`${p.plugin_id}: entry point answered ${r?.status ?? 'nothing'}`);
      continue;
    }
    const body = (await r.json().catch(() => ({}))) as { version?: string };
    if (body.version && body.version !== p.active_version)
      problems.push(`${p.plugin_id}: serves ${body.version}, the database says ${p.active_version}`);
  }

  // processes
  const pids = await pluginProcesses(dataDir);
  const serving = plugins.length - failed.size;
  if (pids.length !== serving)
    problems.push(`${pids.length} plugin process(es) for ${serving} installed plugin(s) that serve`);

  // folders
  const named = new Set(
    installs
      .filter(
        (i) =>
          i.version_dir &&
          (plugins.some((p) => p.active_install_id === i.id || p.last_stable_install_id === i.id) ||
            i.state === 'awaiting_config'),
      )
      .map((i) => i.version_dir!.replace(/^.*?(tenants\/)/, '$1')),
  );
  const pluginsDir = join(dataDir, 'tenants', TENANT, 'plugins');
  for (const plugin of await readdir(pluginsDir).catch(() => [] as string[])) {
    if (!installed.has(plugin)) {
      problems.push(`folder of ${plugin} left although it is not installed`);
      continue;
    }
    for (const v of await readdir(join(pluginsDir, plugin, 'versions')).catch(() => [] as string[])) {
      const rel = `tenants/${TENANT}/plugins/${plugin}/versions/${v}`;
      if (!named.has(rel)) problems.push(`version folder ${rel} is named by no row`);
    }
  }
  for (const rel of named) {
    const [, , , plugin, , v] = rel.split('/');
    const present = await readdir(join(pluginsDir, plugin, 'versions')).catch(() => [] as string[]);
    if (!present.includes(v)) problems.push(`version folder ${rel} named by a row is missing`);
  }
  for (const dir of ['staging', 'uploads']) {
    const left = await readdir(join(dataDir, dir)).catch(() => [] as string[]);
    if (left.length) problems.push(`${dir}/ holds ${left.join(', ')}`);
  }

  // audit
  const verify = await api(url, token, '/api/audit/verify');
  if (!verify.ok) problems.push(`audit does not verify: ${verify.reason ?? JSON.stringify(verify)}`);
  return { problems, notes };
}

/**
 * `install:stage` for every stage row that has fewer audit entries than rows. received (the
 * creation) and running (the switch) are no transitions and have none of their own.
 */
function stagesWithoutEntry(dataDir: string): string[] {
  const db = new DatabaseSync(join(dataDir, 'core.db'), { readOnly: true });
  try {
    const rows = db
      .prepare(
        `select s.install_id, s.stage, count(*) as n,
           (select count(*) from audit_log a where a.action like 'plugin.%.stage'
              and json_extract(a.details, '$.installId') = s.install_id
              and json_extract(a.details, '$.stage') = s.stage) as entries,
           (select count(*) from audit_log a where a.action = 'plugin.instance.failed'
              and json_extract(a.details, '$.installId') = s.install_id) as serving_failures
         from install_stages s where s.stage not in ('received', 'running')
         group by s.install_id, s.stage`,
      )
      .all() as Array<{
      install_id: string;
      stage: string;
      n: number;
      entries: number;
      serving_failures: number;
    }>;
    return rows
      .filter((r) => r.entries + (r.stage === 'failed' ? r.serving_failures : 0) < r.n)
      .map((r) => `${r.install_id}:${r.stage}`);
  } finally {
    db.close();
  }
}
