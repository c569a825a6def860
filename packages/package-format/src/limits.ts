/**
 * Limits applied while unpacking a `.pxp`. They bound what a hostile package can make us do
 * (disk, memory, time) before a single check has run. Every limit can be lowered or raised per
 * call (`extractPackage(file, { limits })`); core reads its values from sandbox_limits.yaml.
 */
export interface PackageLimits {
  /** Size of the `.pxp` file itself. */
  maxCompressedBytes: number;
  /** Sum of the sizes of every file once unpacked (counted while streaming, not taken from headers). */
  maxUncompressedBytes: number;
  /** Number of tar entries (files and directories; pax/GNU meta headers are not counted). */
  maxEntries: number;
  /** Length of one entry path, in UTF-8 bytes. */
  maxPathLength: number;
  /** Uncompressed tar bytes divided by the `.pxp` size (gzip bomb guard). */
  maxCompressionRatio: number;
}

export const DEFAULT_LIMITS: Readonly<PackageLimits> = Object.freeze({
  maxCompressedBytes: 256 * 1024 * 1024,
  maxUncompressedBytes: 1024 * 1024 * 1024,
  maxEntries: 10_000,
  maxPathLength: 240,
  maxCompressionRatio: 100,
});

/**
 * The ratio limit starts to apply only once this many bytes were unpacked: a tiny package is
 * mostly tar padding (a 10 KiB end-of-archive record) that gzip shrinks far more than 100×,
 * and a package this small cannot hurt anyone whatever its ratio.
 */
export const RATIO_GRACE_BYTES = 1024 * 1024;

export function resolveLimits(partial: Partial<PackageLimits> | undefined): PackageLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(partial ?? {}) as Array<
    [keyof PackageLimits, number | undefined]
  >) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`package limit ${key} must be a positive number, got ${value}`);
    limits[key] = value;
  }
  return limits;
}
