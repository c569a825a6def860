/** Paths with a meaning inside a `.pxp` (see docs/architecture.md, "The .pxp package"). */
export const MANIFEST_PATH = 'manifest.json';
export const SUMS_PATH = '_pxp/SHA256SUMS';
export const SIG_PATH = '_pxp/SHA256SUMS.sig';
export const SIGNER_PATH = '_pxp/signer.json';

/** Files that SHA256SUMS does not list: itself and the signature over it. Every other file is listed. */
export const UNLISTED_PATHS: ReadonlySet<string> = new Set([SUMS_PATH, SIG_PATH, SIGNER_PATH]);
