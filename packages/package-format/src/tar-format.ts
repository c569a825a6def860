/**
 * The POSIX (ustar + pax) tar header, encoded and decoded by hand. We own both directions so that
 * packing is byte-for-byte reproducible and unpacking sees every field of a hostile header
 * (type, link target, declared size) before deciding anything.
 */

export const BLOCK = 512;

/** The tar type flags we name. Anything else is refused by the unpacker. */
export const TYPE = {
  file: '0',
  oldFile: '\0',
  hardlink: '1',
  symlink: '2',
  charDevice: '3',
  blockDevice: '4',
  directory: '5',
  fifo: '6',
  contiguous: '7',
  paxHeader: 'x',
  paxGlobal: 'g',
  gnuLongName: 'L',
  gnuLongLink: 'K',
} as const;

export interface TarHeaderFields {
  path: string;
  type: string;
  size: number;
  mode?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
}

/** The fixed metadata of every entry we pack: reproducible whoever packs, wherever. */
export const FIXED_MTIME = 946_684_800; // 2000-01-01T00:00:00Z; 0 makes some tools warn
const MAX_OCTAL_11 = 0o77777777777; // 8 GiB - 1: the largest size an 11-digit octal field holds

/**
 * Encodes one entry's header block(s). Paths longer than ustar can hold (100-byte name plus
 * 155-byte prefix split at a slash) get a pax extended header first, which GNU tar and every
 * modern reader understand.
 */
export function encodeHeader(fields: TarHeaderFields): Buffer {
  const pathBytes = Buffer.from(fields.path, 'utf8');
  const split = splitUstarPath(pathBytes);
  const linkBytes = Buffer.from(fields.linkpath ?? '', 'utf8');
  const pax: Record<string, string> = {};
  if (!split) pax.path = fields.path;
  if (linkBytes.length > 100) pax.linkpath = fields.linkpath ?? '';
  if (fields.size > MAX_OCTAL_11) pax.size = String(fields.size);
  const blocks: Buffer[] = [];
  if (Object.keys(pax).length) {
    const body = encodePaxRecords(pax);
    // The pax header's own name is informative only; keep it short and deterministic.
    blocks.push(
      rawHeader({
        name: Buffer.from('PaxHeader'),
        prefix: Buffer.alloc(0),
        type: TYPE.paxHeader,
        size: body.length,
        mode: 0o644,
        mtime: fields.mtime ?? FIXED_MTIME,
      }),
    );
    blocks.push(padBlock(body));
  }
  const name = split ? split.name : pathBytes.subarray(pathBytes.length - Math.min(100, pathBytes.length));
  const prefix = split ? split.prefix : Buffer.alloc(0);
  blocks.push(
    rawHeader({
      name,
      prefix,
      type: fields.type,
      size: fields.size > MAX_OCTAL_11 ? 0 : fields.size,
      mode: fields.mode ?? 0o644,
      mtime: fields.mtime ?? FIXED_MTIME,
      uid: fields.uid,
      gid: fields.gid,
      linkname: linkBytes.length > 100 ? linkBytes.subarray(0, 100) : linkBytes,
      devmajor: fields.devmajor,
      devminor: fields.devminor,
    }),
  );
  return Buffer.concat(blocks);
}

interface RawHeader {
  name: Buffer;
  prefix: Buffer;
  type: string;
  size: number;
  mode: number;
  mtime: number;
  uid?: number;
  gid?: number;
  linkname?: Buffer;
  devmajor?: number;
  devminor?: number;
}

function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  h.name.copy(b, 0, 0, 100);
  writeOctal(b, 100, 8, h.mode & 0o7777);
  writeOctal(b, 108, 8, h.uid ?? 0);
  writeOctal(b, 116, 8, h.gid ?? 0);
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, h.mtime);
  b.write(h.type, 156, 1, 'latin1');
  h.linkname?.copy(b, 157, 0, 100);
  b.write('ustar\u000000', 257, 8, 'latin1');
  // uname/gname stay empty: names of the packer's machine would break reproducibility.
  writeOctal(b, 329, 8, h.devmajor ?? 0);
  writeOctal(b, 337, 8, h.devminor ?? 0);
  h.prefix.copy(b, 345, 0, 155);
  writeChecksum(b);
  return b;
}

/** Recomputes the checksum field of a header block in place (also used by the fixture script). */
export function writeChecksum(b: Buffer): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'latin1');
}

function writeOctal(b: Buffer, offset: number, length: number, value: number): void {
  b.write(value.toString(8).padStart(length - 1, '0') + '\u0000', offset, length, 'latin1');
}

/** ustar keeps paths up to 255 bytes as prefix (≤155) + "/" + name (≤100), split at a slash. */
function splitUstarPath(path: Buffer): { name: Buffer; prefix: Buffer } | undefined {
  if (path.length <= 100) return { name: path, prefix: Buffer.alloc(0) };
  if (path.length > 256) return undefined;
  for (let i = path.length - 101; i < path.length; i++) {
    if (i < 1 || path[i] !== 0x2f) continue;
    if (i <= 155) return { prefix: path.subarray(0, i), name: path.subarray(i + 1) };
  }
  return undefined;
}

/** pax records are "<len> key=value\n" where len counts the whole record, its own digits included. */
export function encodePaxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    const bodyLen = Buffer.byteLength(body);
    const digits = String(bodyLen).length;
    let len = bodyLen + digits;
    if (String(len).length > digits) len += 1;
    parts.push(Buffer.from(`${len}${body}`, 'utf8'));
  }
  return Buffer.concat(parts);
}

export function padBlock(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

export function paddingFor(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/** Two zero blocks end an archive; GNU tar pads to a 10 KiB record, which we copy for tool friendliness. */
export function endOfArchive(bytesSoFar: number): Buffer {
  const RECORD = 20 * BLOCK;
  const total = bytesSoFar + 2 * BLOCK;
  const pad = total % RECORD === 0 ? 0 : RECORD - (total % RECORD);
  return Buffer.alloc(2 * BLOCK + pad);
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface DecodedHeader {
  /** Path from name + prefix (pax / GNU long names are applied by the parser). */
  path: string;
  type: string;
  size: number;
  mode: number;
  linkpath: string;
}

export type HeaderProblem = { problem: 'checksum' | 'size'; detail: string };

export function isZeroBlock(b: Buffer, offset = 0): boolean {
  for (let i = offset; i < offset + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Decodes a 512-byte header; returns a problem instead of throwing so the caller picks the code. */
export function decodeHeader(b: Buffer): DecodedHeader | HeaderProblem {
  const stored = parseNumeric(b, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  if (stored === undefined || (stored !== unsigned && stored !== signed)) {
    return { problem: 'checksum', detail: 'a tar header checksum is wrong' };
  }
  const size = parseNumeric(b, 124, 12);
  if (size === undefined || !Number.isSafeInteger(size) || size < 0)
    return { problem: 'size', detail: 'a tar header has an unreadable size' };
  // Only POSIX ustar ("ustar\0") has a prefix field; old GNU headers ("ustar  ") keep access and
  // change times there, which must not be read as part of the name.
  const isPosixUstar = b.toString('latin1', 257, 263) === 'ustar\u0000';
  const name = cString(b, 0, 100);
  const prefix = isPosixUstar ? cString(b, 345, 155) : '';
  return {
    path: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(b[156]),
    size,
    mode: parseNumeric(b, 100, 8) ?? 0,
    linkpath: cString(b, 157, 100),
  };
}

function cString(b: Buffer, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && b[end] !== 0) end++;
  return b.toString('utf8', offset, end);
}

/** Octal text, or GNU base-256 when the high bit of the first byte is set. */
function parseNumeric(b: Buffer, offset: number, length: number): number | undefined {
  if (b[offset] & 0x80) {
    if (b[offset] === 0xff) return undefined; // negative
    let value = b[offset] & 0x7f;
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + b[i];
    return value;
  }
  const text = b
    .toString('latin1', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

/** Parses pax records; unknown keys are kept so the parser can decide what it honours. */
export function parsePaxRecords(body: Buffer): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // trailing NUL padding
    const space = body.indexOf(0x20, pos);
    if (space < 0) return undefined;
    const len = Number(body.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > body.length) return undefined;
    const record = body.toString('utf8', space + 1, pos + len);
    if (!record.endsWith('\n')) return undefined;
    const eq = record.indexOf('=');
    if (eq < 1) return undefined;
    out[record.slice(0, eq)] = record.slice(eq + 1, -1);
    pos += len;
  }
  return out;
}
