/**
 * Quota parity: would a package validated for a sandbox tenant also fit that tenant's production
 * counterpart (sandbox_limits.yaml `production`, default the `default` tenant) as it is today?
 * Each limit it would break there is named by its sandbox_limits.yaml field, so "fits sandbox,
 * would not fit default: maxMemoryMb" tells the developer what to change before release.
 * It is advice (a warning check): the sandbox install itself is decided by the sandbox's quotas.
 */
import { PxError, type Manifest, type ProductionParity, type ValidationCheck } from '@powerx/protocol';
import type { Db } from '../storage/schema.ts';
import type { TenantLimits } from '../limits/sandbox-limits.ts';
import { tenantUsage } from './tenant-checks.ts';

const MB = 1024 * 1024;

export async function productionParity(
  db: Db,
  input: {
    manifest: Manifest;
    packageBytes: number;
    sandbox: string;
    fitsSandbox: boolean;
    production: string;
    limits: TenantLimits;
  },
): Promise<ProductionParity> {
  const { manifest, limits, production } = input;
  const used = await tenantUsage(db, production, { pluginId: manifest.id });
  const r = manifest.resources;
  const exceeded: ProductionParity['exceeded'] = [];
  // A sum limit breaks when what the production tenant already holds plus this plugin exceeds it.
  const atMost = (limit: keyof TenantLimits, needed: number, allowed: number) => {
    if (needed > allowed) exceeded.push({ limit, needed, allowed });
  };
  atMost('maxMemoryMb', used.memoryMb + r.memoryMb, limits.maxMemoryMb);
  atMost('maxCpuPercent', used.cpuPercent + r.cpuPercent, limits.maxCpuPercent);
  atMost('maxDiskMb', used.diskMb + r.diskMb, limits.maxDiskMb);
  atMost('maxPlugins', used.plugins + 1, limits.maxPlugins);
  // Rounded up, so a package a few bytes over the limit is never shown as fitting.
  atMost('maxPackageMb', Math.ceil((input.packageBytes / MB) * 100) / 100, limits.maxPackageMb);
  if (manifest.runtime.kind === 'process' && limits.allowProcessPlugins !== true)
    exceeded.push({ limit: 'allowProcessPlugins', needed: 'runtime.kind process', allowed: 'node only' });
  const names = exceeded.map((e) => e.limit).join(', ');
  const sandbox = input.fitsSandbox ? 'fits sandbox' : `does not fit sandbox ${input.sandbox}`;
  const summary = exceeded.length
    ? `${sandbox}, would not fit ${production}${input.fitsSandbox ? '' : ' either'}: ${names}`
    : `${sandbox}, fits ${production}`;
  return {
    sandbox: input.sandbox,
    tenant: production,
    fitsSandbox: input.fitsSandbox,
    fits: !exceeded.length,
    exceeded,
    summary,
  };
}

/** The parity as one check of the validation report (a warning: it never fails the report). */
export function parityCheck(parity: ProductionParity): ValidationCheck {
  const base = {
    id: 'production.parity',
    title: `Fits production tenant ${parity.tenant} too`,
    warning: true,
  };
  if (parity.fits) return { ...base, ok: true, message: parity.summary };
  const detail = parity.exceeded
    .map((e) => `${e.limit}: needs ${e.needed}, ${parity.tenant} allows ${e.allowed}`)
    .join('; ');
  const error = new PxError(
    'PRODUCTION_QUOTA_MISMATCH',
    { production: parity.tenant, detail },
    { message: `${parity.summary} (${detail})` },
  );
  return { ...base, ok: false, code: error.code, message: error.message, hint: error.hint };
}
