/**
 * The checks of an uploaded package, in one place for the dry run (POST
 * /internal/plugins/packages/validate) and the install pipeline, so both always say the same:
 *   1. the shared validator of @powerx/package-format (signature against the platform keys and the
 *      uploader's developer keys, per-file hashes, manifest, archive limits of the tenant),
 *   2. the checks that depend on the tenant (tenant-checks.ts): core compatibility, required and
 *      conflicting plugins, runtime kind, quota.
 */
import type { Manifest, ValidationCheck } from '@powerx/protocol';
import type { Db } from '../storage/schema.ts';
import type { CorePaths } from '../config/core-paths.ts';
import type { IdentityService } from '../identity/identity-service.ts';
import type { SandboxLimits } from '../limits/sandbox-limits.ts';
import type { PluginRepository } from '../plugins/plugin-repository.ts';
import type { Principal } from '../identity/principal.ts';
import type { PackageValidationResult, PackageValidator } from './package-validator.ts';
import type { FlowPolicy } from './flow-policy.ts';
import {
  checkConflicts,
  checkCoreCompatibility,
  checkDependencies,
  checkQuota,
  checkRuntimeKind,
} from './tenant-checks.ts';

export interface UploadCheckDeps {
  db: Db;
  plugins: PluginRepository;
  identity: IdentityService;
  limits: SandboxLimits;
  paths: CorePaths;
  validator: PackageValidator;
  platformKeys: string[];
  coreVersion: string;
  devMode: boolean;
}

export interface UploadTenant {
  id: string;
  kind: string;
  allowUnsigned: boolean;
}

/** Step 1: the package itself. `keepStaging` keeps the unpacked folder for provisioning. */
export async function checkPackage(
  d: UploadCheckDeps,
  input: {
    packagePath: string;
    tenant: UploadTenant;
    principal: Principal;
    flow: FlowPolicy;
    keepStaging: boolean;
  },
): Promise<PackageValidationResult> {
  const { tenant } = input;
  // Developer keys count in sandbox tenants only; other tenants trust the platform keys alone.
  const trustedKeys = [
    ...d.platformKeys,
    ...(tenant.kind === 'sandbox' ? await d.identity.developerKeyPems(input.principal.userId) : []),
  ];
  return d.validator.validate(input.packagePath, {
    trustedKeys,
    coreVersion: d.coreVersion,
    allowUnsigned: input.flow.allowUnsigned({ devMode: d.devMode }, tenant),
    maxPackageBytes: Math.floor(d.limits.forTenant(tenant.id).maxPackageMb * 1024 * 1024),
    stagingRoot: d.paths.staging,
    keepStaging: input.keepStaging,
  });
}

/**
 * Step 2: whether the plugin fits the tenant. Returns the new checks (to append to the package's);
 * `installId` is left out of the quota so an install does not count against itself.
 */
export async function checkTenantFit(
  d: UploadCheckDeps,
  input: { tenant: string; manifest: Manifest; packageChecks: ValidationCheck[]; installId: string },
): Promise<ValidationCheck[]> {
  const { tenant, manifest } = input;
  const installed = await d.plugins.withActiveManifests(tenant);
  const limits = d.limits.forTenant(tenant);
  const checks: ValidationCheck[] = [];
  // The validator checks core compatibility itself when it got that far.
  if (!input.packageChecks.some((c) => c.id.startsWith('core.')))
    checks.push(checkCoreCompatibility(manifest, d.coreVersion));
  checks.push(checkDependencies(manifest, tenant, installed));
  checks.push(checkConflicts(manifest, installed));
  checks.push(checkRuntimeKind(manifest, tenant, limits));
  checks.push(await checkQuota(d.db, tenant, manifest, input.installId, limits));
  return checks;
}

/** The check an install fails with: the first failed one that names a code. */
export function firstFailure(checks: ValidationCheck[]): ValidationCheck | undefined {
  return checks.find((c) => !c.ok && c.code) ?? checks.find((c) => !c.ok);
}
