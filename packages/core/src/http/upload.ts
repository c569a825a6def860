/**
 * Streams a multipart upload to disk with a byte limit, so a large package never sits in memory
 * and an oversized one is cut off at the limit (413 with the limit in the body). Text fields are
 * collected; the CLI sends `tenant` before the file so the tenant's own limit applies at once.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { InputError, PxError } from '@powerx/protocol';
import { diskFullError, isDiskFull, mapDiskFull } from '../storage/disk-full.ts';

export interface ReceivedUpload {
  path: string;
  bytes: number;
  fields: Record<string, string>;
}

export interface UploadOptions {
  uploadsDir: string;
  /** The byte limit, given the fields seen before the file (e.g. the tenant). */
  limitFor(fields: Record<string, string>): number;
}

/**
 * Reads and discards the rest of a refused upload, so the client gets its 413 instead of a reset
 * connection (most HTTP clients only read the response once they sent the whole body). Beyond
 * DRAIN_LIMIT the connection is cut instead.
 */
const DRAIN_LIMIT = 256 * 1024 * 1024;
function drain(req: IncomingMessage, maxBytes: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => resolve();
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) {
        req.destroy();
        done();
      }
    });
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}

export function uploadTooLarge(limit: number, size?: number): PxError {
  return new PxError('UPLOAD_TOO_LARGE', { limit, ...(size !== undefined ? { size } : {}) });
}

export async function receivePackageUpload(
  request: FastifyRequest,
  opts: UploadOptions,
): Promise<ReceivedUpload> {
  if (!request.isMultipart())
    throw new InputError(
      'BAD_REQUEST',
      { detail: 'Expected multipart/form-data with a "package" file' },
      { hint: 'Send the .pxp as the "package" field of a multipart form (px-plugin install does).' },
    );
  await mapDiskFull('receiving the upload', opts.uploadsDir, () =>
    mkdir(opts.uploadsDir, { recursive: true }),
  );
  const fields: Record<string, string> = { ...(request.query as Record<string, string>) };
  let path: string | undefined;
  let bytes = 0;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (part.fieldname !== 'package' || path) {
        part.file.resume();
        continue;
      }
      const limit = opts.limitFor(fields);
      path = join(opts.uploadsDir, `${randomUUID()}.pxp`);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          if (bytes > limit) cb(uploadTooLarge(limit));
          else cb(null, chunk);
        },
      });
      await pipeline(part.file, counter, createWriteStream(path, { mode: 0o600 }));
      if ((part.file as { truncated?: boolean }).truncated) throw uploadTooLarge(limit);
    }
  } catch (error) {
    if (path) await rm(path, { force: true });
    const code = (error as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'UPLOAD_TOO_LARGE') {
      await drain(request.raw, DRAIN_LIMIT);
      throw uploadTooLarge(opts.limitFor(fields));
    }
    if (isDiskFull(error)) {
      // The client still gets its answer (507), not a reset connection.
      await drain(request.raw, DRAIN_LIMIT);
      throw diskFullError(error, 'receiving the upload', opts.uploadsDir);
    }
    throw error;
  }
  if (!path)
    throw new InputError(
      'BAD_REQUEST',
      { detail: 'The form has no "package" file' },
      { hint: 'Attach the .pxp as the "package" field.' },
    );
  // The tenant may have come after the file: apply its own limit now.
  const limit = opts.limitFor(fields);
  if (bytes > limit) {
    await rm(path, { force: true });
    throw uploadTooLarge(limit, bytes);
  }
  return { path, bytes, fields };
}
