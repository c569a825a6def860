/**
 * The checks that depend on the tenant, run after the shared package validator: plugin
 * dependencies (`requires`), `conflicts` in both directions, core compatibility and quota.
 * Each returns a ValidationCheck in the same shape as the validator's, so the CLI, the API and
 * the Admin show one list; the first failed check becomes the install's error.
 */
import semver from 'semver';
import { PxError, type ErrorCode, type Manifest, type ValidationCheck } from '@powerx/protocol';
import type { Db } from '../storage/schema.ts';
import { DEFAULT_MAX_STORAGE_MB, type TenantLimits } from '../limits/sandbox-limits.ts';
import { PluginRepository } from '../plugins/plugin-repository.ts';
import { TERMINAL_STATES } from './install-store.ts';

export interface InstalledPluginRef {
  pluginId: string;
  version: string;
  manifest: Manifest | undefined;
}

function check(
  id: string,
  title: string,
  started: number,
  problem?: { code: ErrorCode; params: Record<string, unknown>; message?: string },
): ValidationCheck {
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  if (!problem) return { id, title, ok: true, message: 'ok', durationMs };
  const error = new PxError(
    problem.code,
    problem.params,
    problem.message ? { message: problem.message } : {},
  );
  return { id, title, ok: false, code: error.code, message: error.message, hint: error.hint, durationMs };
}

export function checkCoreCompatibility(manifest: Manifest, coreVersion: string): ValidationCheck {
  const started = performance.now();
  const ok =
    semver.validRange(manifest.powerx) !== null &&
    semver.satisfies(coreVersion, manifest.powerx, { includePrerelease: true });
  return check(
    'core.compatibility',
    'Core version is compatible',
    started,
    ok ? undefined : { code: 'CORE_INCOMPATIBLE', params: { range: manifest.powerx, coreVersion } },
  );
}

/** Every unmet `requires` is reported (the message lists all), the first decides the code. */
export function checkDependencies(
  manifest: Manifest,
  tenant: string,
  installed: InstalledPluginRef[],
): ValidationCheck {
  const started = performance.now();
  const byId = new Map(installed.map((p) => [p.pluginId, p]));
  const problems: Array<{ code: ErrorCode; params: Record<string, unknown> }> = [];
  for (const [dependency, range] of Object.entries(manifest.requires)) {
    const found = byId.get(dependency);
    if (!found) problems.push({ code: 'DEPENDENCY_MISSING', params: { dependency, range, tenant } });
    else if (!semver.satisfies(found.version, range, { includePrerelease: true }))
      problems.push({
        code: 'DEPENDENCY_VERSION',
        params: { dependency, range, tenant, installed: found.version },
      });
  }
  if (!problems.length) return check('tenant.dependencies', 'Required plugins are installed', started);
  const messages = problems.map((p) => new PxError(p.code, p.params).message);
  return check('tenant.dependencies', 'Required plugins are installed', started, {
    code: problems[0].code,
    params: {
      ...problems[0].params,
      problems: problems.map((p, i) => ({ code: p.code, message: messages[i] })),
    },
    message: messages.join('; '),
  });
}

/**
 * Conflicts both ways: the new plugin's `conflicts` against what is installed, installed plugins'
 * `conflicts` against the new one, and installed plugins whose `requires` the new version breaks.
 */
export function checkConflicts(manifest: Manifest, installed: InstalledPluginRef[]): ValidationCheck {
  const started = performance.now();
  const found: string[] = [];
  for (const other of installed) {
    if (other.pluginId === manifest.id) continue;
    const range = manifest.conflicts[other.pluginId];
    if (range !== undefined && semver.satisfies(other.version, range, { includePrerelease: true })) {
      found.push(
        `${manifest.id} ${manifest.version} conflicts with ${other.pluginId} ${range}, and ${other.pluginId} ${other.version} is installed`,
      );
    }
    const theirs = other.manifest?.conflicts?.[manifest.id];
    if (theirs !== undefined && semver.satisfies(manifest.version, theirs, { includePrerelease: true })) {
      found.push(`installed ${other.pluginId} ${other.version} conflicts with ${manifest.id} ${theirs}`);
    }
    const needs = other.manifest?.requires?.[manifest.id];
    if (needs !== undefined && !semver.satisfies(manifest.version, needs, { includePrerelease: true })) {
      found.push(
        `installed ${other.pluginId} ${other.version} requires ${manifest.id} ${needs}, not ${manifest.version}`,
      );
    }
  }
  if (!found.length) return check('tenant.conflicts', 'No conflicting plugins', started);
  const detail = `Conflict: ${found.join('; ')}`;
  return check('tenant.conflicts', 'No conflicting plugins', started, {
    code: 'PLUGIN_CONFLICT',
    params: { detail, conflicts: found },
  });
}

/** runtime.kind "process" only where sandbox_limits.yaml allows it (see allowProcessPlugins there). */
export function checkRuntimeKind(manifest: Manifest, tenant: string, limits: TenantLimits): ValidationCheck {
  const started = performance.now();
  if (manifest.runtime.kind !== 'process' || limits.allowProcessPlugins === true)
    return check('tenant.runtime_kind', 'Runtime kind is allowed in this tenant', started);
  return check('tenant.runtime_kind', 'Runtime kind is allowed in this tenant', started, {
    code: 'RUNTIME_KIND_NOT_ALLOWED',
    params: { kind: manifest.runtime.kind, tenant },
  });
}

export interface TenantUsage {
  plugins: number;
  memoryMb: number;
  diskMb: number;
  cpuPercent: number;
  installsLastMinute: number;
}

/**
 * What a tenant uses: installed plugins plus installs in flight (they hold their reservation
 * until they finish), optionally leaving out one plugin (the one being upgraded) and one install.
 * Derived from rows, so a rolled-back install gives its quota back by leaving the table.
 */
export async function tenantUsage(
  db: Db,
  tenant: string,
  exclude: { pluginId?: string; installId?: string } = {},
): Promise<TenantUsage> {
  const plugins = await new PluginRepository(db).listTenant(tenant);
  const inflight = await db
    .selectFrom('installs')
    .select(['id', 'plugin_id', 'manifest'])
    .where('tenant_id', '=', tenant)
    .where('kind', '=', 'install')
    // Finished installs (including the history of an uninstalled plugin) hold no reservation.
    .where('state', 'not in', [...TERMINAL_STATES])
    .where('manifest', 'is not', null)
    .execute();
  const per = new Map<string, { memoryMb: number; diskMb: number; cpuPercent: number }>();
  for (const p of plugins)
    per.set(p.plugin_id, { memoryMb: p.memory_mb, diskMb: p.disk_mb, cpuPercent: p.cpu_percent });
  for (const i of inflight) {
    if (i.id === exclude.installId || !i.plugin_id) continue;
    const m = JSON.parse(i.manifest!) as Manifest;
    const prev = per.get(i.plugin_id);
    // An upgrade in flight reserves the larger of the old and new needs.
    per.set(i.plugin_id, {
      memoryMb: Math.max(prev?.memoryMb ?? 0, m.resources.memoryMb),
      diskMb: Math.max(prev?.diskMb ?? 0, m.resources.diskMb),
      cpuPercent: Math.max(prev?.cpuPercent ?? 0, m.resources.cpuPercent),
    });
  }
  if (exclude.pluginId) per.delete(exclude.pluginId);
  const since = new Date(Date.now() - 60_000).toISOString();
  const recent = await db
    .selectFrom('installs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenant)
    .where('kind', '=', 'install')
    // Uploads only: dev reloads (flow 'dev') have no per-minute quota; their reload lane (one at
    // a time per plugin, only the newest waiting build kept) bounds them (docs/dev-mode.md).
    .where('flow', '=', 'upload')
    .where('created_at', '>=', since)
    .$if(!!exclude.installId, (q) => q.where('id', '!=', exclude.installId!))
    .executeTakeFirst();
  let memoryMb = 0,
    diskMb = 0,
    cpuPercent = 0;
  for (const v of per.values()) {
    memoryMb += v.memoryMb;
    diskMb += v.diskMb;
    cpuPercent += v.cpuPercent;
  }
  return { plugins: per.size, memoryMb, diskMb, cpuPercent, installsLastMinute: Number(recent?.n ?? 0) };
}

export async function checkQuota(
  db: Db,
  tenant: string,
  manifest: Manifest,
  installId: string,
  limits: TenantLimits,
): Promise<ValidationCheck> {
  const started = performance.now();
  const used = await tenantUsage(db, tenant, { pluginId: manifest.id, installId });
  const over: Array<{ quota: string; detail: string }> = [];
  if (used.plugins + 1 > limits.maxPlugins)
    over.push({ quota: 'plugins', detail: `${used.plugins} installed + 1 > ${limits.maxPlugins}` });
  if (used.memoryMb + manifest.resources.memoryMb > limits.maxMemoryMb)
    over.push({
      quota: 'memory',
      detail: `${used.memoryMb} MB used + ${manifest.resources.memoryMb} MB > ${limits.maxMemoryMb} MB`,
    });
  if (used.diskMb + manifest.resources.diskMb > limits.maxDiskMb)
    over.push({
      quota: 'disk',
      detail: `${used.diskMb} MB used + ${manifest.resources.diskMb} MB > ${limits.maxDiskMb} MB`,
    });
  if (used.cpuPercent + manifest.resources.cpuPercent > limits.maxCpuPercent)
    over.push({
      quota: 'cpu',
      detail: `${used.cpuPercent}% used + ${manifest.resources.cpuPercent}% > ${limits.maxCpuPercent}%`,
    });
  // One plugin may not claim more than the whole tenant may store; the sum over the tenant's
  // plugins is enforced as documents are written (plugins/storage-meter.ts).
  const maxStorageMb = limits.maxStorageMb ?? DEFAULT_MAX_STORAGE_MB;
  if (manifest.resources.storageMb > maxStorageMb)
    over.push({
      quota: 'storage',
      detail: `resources.storageMb ${manifest.resources.storageMb} MB > the tenant maximum ${maxStorageMb} MB`,
    });
  if (!over.length) return check('tenant.quota', 'Tenant quota allows the plugin', started);
  return check('tenant.quota', 'Tenant quota allows the plugin', started, {
    code: 'QUOTA_EXCEEDED',
    params: {
      tenant,
      quota: over.map((o) => o.quota).join(' and '),
      detail: over.map((o) => o.detail).join('; '),
      exceeded: over,
      used,
      limits,
    },
  });
}
