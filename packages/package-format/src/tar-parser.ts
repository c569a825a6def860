import { PackageError } from '@powerx/protocol';
import { BLOCK, decodeHeader, isZeroBlock, paddingFor, parsePaxRecords, TYPE } from './tar-format.ts';

/** One tar entry as its headers describe it, pax and GNU long-name records already applied. */
export interface TarEntry {
  path: string;
  type: string;
  size: number;
  mode: number;
  linkpath: string;
}

/** Receives one entry's content. Returned by `onEntry` for entries whose bytes are wanted. */
export interface EntrySink {
  write(data: Buffer): void;
  end(): void;
}

/** Meta records (pax, GNU long names) larger than this are refused: real ones are a few hundred bytes. */
const MAX_META_BYTES = 64 * 1024;
/** More meta headers in a row than this is not something a tar writer does. */
const MAX_META_CHAIN = 4;

type State = 'header' | 'body' | 'padding' | 'meta' | 'end1' | 'end2';

/**
 * A push parser for POSIX/GNU tar that works on whatever chunks gunzip hands it, without copying
 * entry content: each chunk is sliced straight into the current entry's sink. It calls
 * `onEntry` for every real entry (file, directory, link, device…) with the fully resolved header,
 * before any of that entry's bytes, so the caller can refuse it; throwing from a callback stops
 * the parse. Structural problems (bad checksum, archive cut short, data after the end marker)
 * throw PackageError PXP_TRUNCATED.
 */
export class TarParser {
  private state: State = 'header';
  private readonly headerBuf = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private padding = 0;
  private sink: EntrySink | undefined;
  private metaType = '';
  private metaChunks: Buffer[] = [];
  private metaChain = 0;
  private pax: Record<string, string> = {};
  private longName: string | undefined;
  private readonly onEntry: (entry: TarEntry) => EntrySink | undefined;

  constructor(onEntry: (entry: TarEntry) => EntrySink | undefined) {
    this.onEntry = onEntry;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      switch (this.state) {
        case 'header':
        case 'end1':
        case 'end2': {
          const take = Math.min(BLOCK - this.headerFill, len - pos);
          // Fast path: a whole header inside the chunk is read in place.
          let block: Buffer;
          if (this.headerFill === 0 && take === BLOCK) {
            block = chunk.subarray(pos, pos + BLOCK);
          } else {
            chunk.copy(this.headerBuf, this.headerFill, pos, pos + take);
            this.headerFill += take;
            if (this.headerFill < BLOCK) return;
            block = this.headerBuf;
          }
          pos += take;
          this.headerFill = 0;
          this.onBlock(block);
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, len - pos);
          this.sink?.write(chunk.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finishBody();
          break;
        }
        case 'meta': {
          const take = Math.min(this.remaining, len - pos);
          this.metaChunks.push(Buffer.from(chunk.subarray(pos, pos + take)));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finishMeta();
          break;
        }
        case 'padding': {
          const take = Math.min(this.padding, len - pos);
          pos += take;
          this.padding -= take;
          if (this.padding === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /** Call after the last chunk: the archive must have ended with its two zero blocks. */
  end(): void {
    if (this.state !== 'end2' || this.headerFill !== 0) {
      throw new PackageError('PXP_TRUNCATED', {
        detail: 'the archive ends before its end-of-archive marker',
      });
    }
  }

  private onBlock(block: Buffer): void {
    if (this.state === 'end2') {
      // After the end marker only zero padding may follow: hidden data there would be read by
      // some tools (tar -i) and not by others.
      if (!isZeroBlock(block))
        throw new PackageError('PXP_TRUNCATED', { detail: 'there is data after the end-of-archive marker' });
      return;
    }
    if (this.state === 'end1') {
      if (!isZeroBlock(block))
        throw new PackageError('PXP_TRUNCATED', { detail: 'a lone zero block in the middle of the archive' });
      this.state = 'end2';
      return;
    }
    if (isZeroBlock(block)) {
      if (this.metaChain)
        throw new PackageError('PXP_TRUNCATED', {
          detail: 'a pax or long-name header is not followed by an entry',
        });
      this.state = 'end1';
      return;
    }
    const header = decodeHeader(block);
    if ('problem' in header) throw new PackageError('PXP_TRUNCATED', { detail: header.detail });

    if (
      header.type === TYPE.paxHeader ||
      header.type === TYPE.paxGlobal ||
      header.type === TYPE.gnuLongName ||
      header.type === TYPE.gnuLongLink
    ) {
      if (++this.metaChain > MAX_META_CHAIN)
        throw new PackageError('PXP_TRUNCATED', { detail: 'too many pax or long-name headers in a row' });
      if (header.size > MAX_META_BYTES)
        throw new PackageError('PXP_TRUNCATED', {
          detail: `a ${header.type} header of ${header.size} bytes`,
        });
      this.metaType = header.type;
      this.metaChunks = [];
      this.remaining = header.size;
      this.padding = paddingFor(header.size);
      if (header.size === 0) this.finishMeta();
      else this.state = 'meta';
      return;
    }

    const entry: TarEntry = { ...header };
    if (this.longName !== undefined) entry.path = this.longName;
    if (this.pax.path !== undefined) entry.path = this.pax.path;
    if (this.pax.linkpath !== undefined) entry.linkpath = this.pax.linkpath;
    if (this.pax.size !== undefined) {
      if (!/^[0-9]{1,16}$/.test(this.pax.size))
        throw new PackageError('PXP_TRUNCATED', { detail: 'a pax size record is not a number' });
      entry.size = Number(this.pax.size);
    }
    this.pax = {};
    this.longName = undefined;
    this.metaChain = 0;

    this.sink = this.onEntry(entry);
    // Only regular files carry content in our packages; a directory or link that declares a size
    // still has that many bytes in the stream, which we skip (the caller refused links anyway).
    this.remaining = entry.size;
    this.padding = paddingFor(entry.size);
    if (entry.size === 0) this.finishBody();
    else this.state = 'body';
  }

  private finishBody(): void {
    this.sink?.end();
    this.sink = undefined;
    this.state = this.padding ? 'padding' : 'header';
  }

  private finishMeta(): void {
    const body = Buffer.concat(this.metaChunks);
    this.metaChunks = [];
    if (this.metaType === TYPE.paxHeader) {
      const records = parsePaxRecords(body);
      if (!records) throw new PackageError('PXP_TRUNCATED', { detail: 'a pax header is malformed' });
      Object.assign(this.pax, records);
    } else if (this.metaType === TYPE.gnuLongName) {
      const nul = body.indexOf(0);
      this.longName = body.toString('utf8', 0, nul < 0 ? body.length : nul);
    }
    // Global pax headers ('g') and GNU long link names ('K') change nothing we honour: link
    // entries are refused whatever their target, and global records (git archive writes a
    // commit id there) carry no per-entry meaning for us.
    this.state = this.padding ? 'padding' : 'header';
  }
}
