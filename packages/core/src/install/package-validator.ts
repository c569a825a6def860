/**
 * Core's view of the shared validator of @powerx/package-format (the same code the CLI runs):
 * core adds only the options that depend on who uploads where (trusted keys, unsigned allowed,
 * the tenant's package size limit) and keeps the unpacked staging folder for provisioning.
 */
import { validatePackage } from '@powerx/package-format';
import type { Manifest, ValidationCheck } from '@powerx/protocol';

export interface PackageValidationOptions {
  trustedKeys: string[];
  coreVersion: string;
  allowUnsigned: boolean;
  maxPackageBytes: number;
  stagingRoot: string;
  keepStaging: boolean;
}

export interface PackageValidationResult {
  ok: boolean;
  checks: ValidationCheck[];
  manifest?: Manifest;
  signer?: { keyId: string; algorithm: string };
  packageSha256?: string;
  stagingDir?: string;
  durationMs: number;
}

export interface PackageValidator {
  validate(packagePath: string, opts: PackageValidationOptions): Promise<PackageValidationResult>;
}

export const sharedPackageValidator: PackageValidator = {
  async validate(packagePath, opts) {
    const report = await validatePackage(packagePath, {
      trustedKeys: opts.trustedKeys,
      coreVersion: opts.coreVersion,
      allowUnsigned: opts.allowUnsigned,
      limits: { maxCompressedBytes: opts.maxPackageBytes },
      stagingRoot: opts.stagingRoot,
      keepStaging: opts.keepStaging,
    });
    return report as PackageValidationResult;
  },
};
