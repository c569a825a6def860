/**
 * What other packages may reuse from the CLI (e.g. `px-plugin dev --watch` builds with the same
 * esbuild options and the same package pipeline). The executable is bin/px-plugin.js → main.ts.
 */
export {
  buildProject,
  outputPath,
  type BuildProjectOptions,
  type BuildResult,
  type BuildStep,
} from './build/build-project.ts';
export {
  bundle,
  bundleEntries,
  buildFailed,
  esbuildOptions,
  formatMessage,
  type BundleEntry,
  type BundledFile,
} from './build/bundle.ts';
export {
  findSigningKey,
  requireSigningKey,
  defaultPrivateKeyPath,
  type SigningKey,
} from './keys/signing-key.ts';
export { trustedKeys, type TrustedKey } from './keys/trusted-keys.ts';
export { scaffoldProject, GENERATED_LINKS, type InitOptions, type InitResult } from './init/scaffold.ts';
export { reportError, exitCodeFor, errorBody, EXIT, type ExitCode } from './report-error.ts';
export { CLI_ROOT, LAUNCHER, TEMPLATE_DIR, keysDir, defaultKeyPrefix, packageRoot } from './cli-paths.ts';
export type { CliContext } from './context.ts';
export type { RegisterCommand } from './commands/index.ts';
