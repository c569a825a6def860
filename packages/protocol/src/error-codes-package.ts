/** Error codes of the package format, the manifest and the developer tooling. */
import { spec, type ErrorCodeSpec } from './error-code-spec.ts';

export const PACKAGE_ERROR_CODES = {
  // --- archive (.pxp) safety ---
  PXP_NOT_FOUND: spec(
    400,
    'Package file {path} does not exist',
    'Check the path; build one with `px-plugin build`.',
  ),
  PXP_NOT_GZIP: spec(
    400,
    'The package is not a gzip-compressed tar archive',
    'Build the package with `px-plugin build`; a .pxp is a .tar.gz.',
  ),
  PXP_TRUNCATED: spec(
    400,
    'The package archive is truncated or corrupt: {detail}',
    'The file was cut during transfer or build. Rebuild and upload it again.',
  ),
  PXP_TOO_LARGE: spec(
    413,
    'The package is {size} bytes; the limit is {limit} bytes',
    'Remove unneeded files (source maps, test data, node_modules) from the build output.',
  ),
  PXP_UNCOMPRESSED_TOO_LARGE: spec(
    400,
    'The package unpacks to more than {limit} bytes',
    'Ship less: large assets belong in storage, not in the package.',
  ),
  PXP_TOO_MANY_ENTRIES: spec(
    400,
    'The package has more than {limit} entries',
    'Bundle the backend with esbuild (px-plugin build does) instead of shipping many small files.',
  ),
  PXP_COMPRESSION_RATIO: spec(
    400,
    'The package expands {ratio}x when unpacked; the limit is {limit}x',
    'This looks like a compression bomb. Rebuild the package from real files.',
  ),
  PXP_PATH_TRAVERSAL: spec(
    400,
    'Entry "{path}" escapes the package root',
    'Paths in a package must stay inside it: no "..". Rebuild with `px-plugin build`.',
  ),
  PXP_ABSOLUTE_PATH: spec(
    400,
    'Entry "{path}" is an absolute path',
    'Paths in a package must be relative. Rebuild with `px-plugin build`.',
  ),
  PXP_PATH_TOO_LONG: spec(
    400,
    'Entry path is {length} characters; the limit is {limit}',
    'Shorten file and folder names in the build output.',
  ),
  PXP_BAD_PATH: spec(
    400,
    'Entry "{path}" has a name that is not allowed',
    'Use plain relative paths without control characters, backslashes or empty segments.',
  ),
  // One code per kind of forbidden entry, so scripts can tell a symlink from a hard link.
  PXP_SYMLINK_ENTRY: spec(
    400,
    'Entry "{path}" is a symbolic link; links are not allowed',
    'Replace the link by the file it points to before packing (esbuild bundles what the backend imports).',
  ),
  PXP_HARDLINK_ENTRY: spec(
    400,
    'Entry "{path}" is a hard link; links are not allowed',
    'Pack regular files only: copy the file instead of hard-linking it, then rebuild.',
  ),
  PXP_DEVICE_ENTRY: spec(
    400,
    'Entry "{path}" is a {type}; only regular files and directories are allowed',
    'Remove device files from the build output.',
  ),
  PXP_FIFO_ENTRY: spec(
    400,
    'Entry "{path}" is a FIFO; only regular files and directories are allowed',
    'Remove named pipes from the build output.',
  ),
  PXP_SPECIAL_ENTRY: spec(
    400,
    'Entry "{path}" is a {type}; only regular files and directories are allowed',
    'Remove special files (sockets, sparse files, other tar types) from the build output.',
  ),
  PXP_DUPLICATE_ENTRY: spec(
    400,
    'Entry "{path}" appears more than once',
    'Rebuild the package with `px-plugin build`; a package lists each path once.',
  ),
  PXP_SOURCE_NOT_FOUND: spec(
    400,
    'Package source folder {dir} does not exist or is not a folder',
    'Build the plugin first; the folder must hold manifest.json and the built files.',
  ),
  PXP_SOURCE_CHANGED: spec(
    409,
    'File "{path}" changed while it was being packed',
    'Do not modify the build output while packing; run the build again.',
  ),
  // --- integrity and signature ---
  PXP_SUMS_MISSING: spec(
    400,
    'The package has no _pxp/SHA256SUMS',
    'Build the package with `px-plugin build`, which writes the checksums.',
  ),
  PXP_SUMS_MALFORMED: spec(
    400,
    '_pxp/SHA256SUMS line {line} is malformed',
    'Each line must be "<64 hex>  <path>". Rebuild the package instead of editing it.',
  ),
  PXP_HASH_MISMATCH: spec(
    400,
    'File "{path}" does not match its checksum',
    'The package was modified after it was built. Rebuild and re-sign it.',
  ),
  PXP_FILE_MISSING: spec(
    400,
    'File "{path}" is listed in SHA256SUMS but missing from the package',
    'The package was modified after it was built. Rebuild and re-sign it.',
  ),
  PXP_FILE_UNLISTED: spec(
    400,
    'File "{path}" is in the package but not in SHA256SUMS',
    'Files were added after the package was built. Rebuild and re-sign it.',
  ),
  PXP_UNSIGNED: spec(
    400,
    'The package is not signed',
    'Sign it: `px-plugin keygen` once, then `px-plugin build` (or `px-plugin sign <pkg>`). Unsigned packages are accepted only by a dev-mode core in a sandbox tenant that allows them.',
  ),
  PXP_SIGNER_MALFORMED: spec(
    400,
    '_pxp/signer.json is malformed: {detail}',
    'Re-sign the package with `px-plugin sign <pkg>`.',
  ),
  PXP_SIGNATURE_INVALID: spec(
    400,
    'The signature does not match the package checksums',
    'The package or its signature was altered. Rebuild and re-sign it with your key.',
  ),
  PXP_KEY_UNTRUSTED: spec(
    400,
    'The package is signed by key {keyId}, which is not trusted here',
    'Register your public key (`px-plugin keys add ~/.px-plugin/keys/default.pub.pem`) or pass it with --trust.',
  ),
  // --- manifest ---
  MANIFEST_MISSING: spec(
    400,
    'The package has no manifest.json',
    'Add a plugin.yaml (or manifest.json) to the project and rebuild.',
  ),
  MANIFEST_NOT_JSON: spec(
    400,
    'manifest.json is not valid JSON: {detail}',
    'Rebuild the package; manifest.json is generated from plugin.yaml by `px-plugin build`.',
  ),
  MANIFEST_NOT_YAML: spec(
    400,
    'plugin.yaml is not valid YAML: {detail}',
    'Fix the YAML syntax at the line shown (indentation, quotes, a missing colon).',
  ),
  MANIFEST_INVALID: spec(
    400,
    'The manifest is invalid: {detail}',
    'Fix the field named in plugin.yaml; see the manifest reference in the README.',
  ),
  MANIFEST_BAD_ID: spec(
    400,
    'Plugin id "{id}" is not a lower-case reverse-DNS name',
    'Use a name like com.example.plugin.hello: lower case, at least three dot-separated parts.',
  ),
  MANIFEST_BAD_VERSION: spec(
    400,
    'Plugin version "{version}" is not a semantic version',
    'Use MAJOR.MINOR.PATCH, for example 1.2.0.',
  ),
  MANIFEST_BAD_RANGE: spec(
    400,
    'The {field} range "{range}" is not a valid semver range',
    'Use a range like ">=1.0.0 <2.0.0" or "^2.0.0".',
  ),
  MANIFEST_RUNTIME_UNKNOWN: spec(
    400,
    'Runtime kind "{kind}" is not supported',
    'Use runtime.kind "node" (bundled ESM) or "process" (any executable serving HTTP).',
  ),
  MANIFEST_ENTRY_MISSING: spec(
    400,
    'The {field} file "{path}" is not in the package',
    'Check runtime.entry in plugin.yaml and that the build wrote that file.',
  ),
  CORE_INCOMPATIBLE: spec(
    409,
    'The plugin needs core {range}; this core is {coreVersion}',
    'Widen the "powerx" range in plugin.yaml if the plugin works on this core, or install it on a matching core.',
  ),
  // --- developer tooling ---
  PROJECT_NOT_FOUND: spec(
    400,
    'No plugin.yaml or manifest.json in {dir}',
    'Run the command inside a plugin project, or create one with `px-plugin init <dir>`.',
  ),
  INIT_DIR_NOT_EMPTY: spec(
    409,
    'Folder {dir} is not empty',
    'Choose a new folder, or pass --force to write into it.',
  ),
  BUILD_FAILED: spec(
    400,
    'The build failed: {detail}',
    'Fix the error at the file and line shown, then build again.',
  ),
  KEY_EXISTS: spec(
    409,
    'A key already exists at {path}',
    'Use --out to write elsewhere, or --force to replace it (packages signed with the old key will no longer verify against the new one).',
  ),
  KEY_NOT_FOUND: spec(
    400,
    'No signing key at {path}',
    'Create one with `px-plugin keygen`, or pass --key / set PX_PLUGIN_KEY.',
  ),
  KEY_INVALID: spec(
    400,
    'The key at {path} is not an Ed25519 PEM key: {detail}',
    'Generate a key with `px-plugin keygen`.',
  ),
  USAGE: spec(400, '{detail}', 'Run the command with --help to see its usage.'),
} as const satisfies Record<string, ErrorCodeSpec>;
