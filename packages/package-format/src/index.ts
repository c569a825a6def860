/**
 * @powerx/package-format: the `.pxp` package (pack, sign, safe unpack) and the one validator
 * that both `px-plugin validate` and core run. See README.md for the format and the limits.
 */
export {
  generateKeyPair,
  keyIdOf,
  readPrivateKeyFile,
  readPublicKeyFile,
  parsePrivateKey,
  parsePublicKey,
  type GeneratedKeyPair,
} from './keys.ts';
export { packDirectory, type PackOptions, type PackResult } from './pack.ts';
export { checkManifest, readManifestSource, CHECK_TITLES, type CheckId } from './manifest.ts';
export { DEFAULT_LIMITS, type PackageLimits } from './limits.ts';
export { MANIFEST_PATH, SUMS_PATH, SIG_PATH, SIGNER_PATH } from './package-layout.ts';
export { formatSums, parseSums, type SumsEntry } from './checksums.ts';
export { encodeSigner, parseSigner, type SignerInfo } from './signature.ts';
export { signPackage } from './sign-package.ts';
export { extractPackage, type ExtractOptions, type ExtractedPackage, type ExtractedFile } from './extract.ts';
export { validatePackage, type ValidateOptions, type PackageValidationReport } from './validate.ts';
