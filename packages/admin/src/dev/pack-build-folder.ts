/**
 * Packs a folder picked in the browser (`<input webkitdirectory>`) into an unsigned `.pxp`, the
 * upload form of `POST /api/plugins/dev/install`: a gzip'd POSIX tar of manifest.json, dist/…
 * and the admin static folder, with `_pxp/SHA256SUMS` over every file, as `packDirectory` of
 * @powerx/package-format writes it (entries sorted by path bytes, fixed mtime 2000-01-01, uid/gid
 * 0, ustar name/prefix split). Unsigned: core accepts it only in dev mode for sandbox tenants.
 * Only what a package holds is sent, never the project's sources or node_modules.
 */

export interface PickedFile {
  /** Path inside the picked folder, "/"-separated. */
  path: string;
  file: File;
}

export class BuildFolderError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

const BLOCK = 512;
const FIXED_MTIME = 946_684_800; // 2000-01-01T00:00:00Z, as packDirectory
const encoder = new TextEncoder();

/** Byte-wise comparison of UTF-8 paths (the order of SHA256SUMS and of the archive). */
function comparePaths(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function octal(value: number, width: number): Uint8Array {
  return encoder.encode(value.toString(8).padStart(width - 1, '0') + '\0');
}

/** ustar: names up to 100 bytes, or split at a "/" into prefix (≤155) and name (≤100). */
function splitPath(path: Uint8Array): { name: Uint8Array; prefix: Uint8Array } | undefined {
  if (path.length <= 100) return { name: path, prefix: new Uint8Array(0) };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    if (i <= 155 && path.length - i - 1 <= 100 && path.length - i - 1 > 0)
      return { prefix: path.subarray(0, i), name: path.subarray(i + 1) };
  }
  return undefined;
}

function header(path: string, size: number): Uint8Array<ArrayBuffer> {
  const split = splitPath(encoder.encode(path));
  if (!split)
    throw new BuildFolderError(
      `The path ${path} is too long for a package.`,
      'Shorten folder or file names in the build.',
    );
  const b = new Uint8Array(BLOCK);
  b.set(split.name, 0);
  b.set(octal(0o644, 8), 100);
  b.set(octal(0, 8), 108);
  b.set(octal(0, 8), 116);
  b.set(octal(size, 12), 124);
  b.set(octal(FIXED_MTIME, 12), 136);
  b.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  b[156] = 0x30; // regular file
  b.set(encoder.encode('ustar\0'), 257);
  b.set(encoder.encode('00'), 263);
  b.set(split.prefix, 345);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.set(encoder.encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return b;
}

async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Keeps manifest.json, dist/… and the manifest's admin.staticDir; drops everything else. */
export async function selectBuildFiles(files: PickedFile[]): Promise<PickedFile[]> {
  const manifestFile = files.find((f) => f.path === 'manifest.json');
  if (!manifestFile) {
    const project = files.some((f) => f.path === 'plugin.yaml');
    throw new BuildFolderError(
      project
        ? 'This is a plugin project (plugin.yaml) without build output: the browser can upload only a build with manifest.json.'
        : 'The folder has no manifest.json at its top.',
      project
        ? "Run `px-plugin build` and drop the .pxp above, or give the project's path on core's filesystem, or use `px-plugin dev --watch`."
        : 'Pick the build output folder (manifest.json, dist/, admin/).',
    );
  }
  let staticDir = '';
  try {
    const manifest = JSON.parse(await manifestFile.file.text()) as { admin?: { staticDir?: string } };
    staticDir = (manifest.admin?.staticDir ?? '').replace(/^\.\//, '').replace(/\/$/, '');
  } catch {
    throw new BuildFolderError(
      'manifest.json is not valid JSON.',
      'Rebuild the plugin; manifest.json is written by `px-plugin build`.',
    );
  }
  const keep = (path: string) =>
    path === 'manifest.json' ||
    path.startsWith('dist/') ||
    (staticDir !== '' && path.startsWith(`${staticDir}/`));
  const hidden = (path: string) =>
    path.split('/').some((part) => part.startsWith('.') || part === 'node_modules');
  return files.filter((f) => keep(f.path) && !hidden(f.path)).sort((a, b) => comparePaths(a.path, b.path));
}

/** The unsigned `.pxp` bytes of the selected files. */
export async function packBuildFolder(picked: PickedFile[]): Promise<Blob> {
  const files = await selectBuildFiles(picked);
  const parts: BlobPart[] = [];
  const sums: string[] = [];
  const contents: Array<{ path: string; data: ArrayBuffer }> = [];
  for (const f of files) {
    const data = await f.file.arrayBuffer();
    sums.push(`${await sha256Hex(data)}  ${f.path}\n`);
    contents.push({ path: f.path, data });
  }
  const sumsBytes = encoder.encode(sums.join(''));
  contents.push({ path: '_pxp/SHA256SUMS', data: sumsBytes.buffer as ArrayBuffer });
  contents.sort((a, b) => comparePaths(a.path, b.path));
  for (const c of contents) {
    parts.push(header(c.path, c.data.byteLength), c.data);
    const pad = (BLOCK - (c.data.byteLength % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const tar = new Blob(parts);
  return new Response(tar.stream().pipeThrough(new CompressionStream('gzip'))).blob();
}
