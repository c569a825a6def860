/**
 * The one place that turns errors into HTTP responses: { code, message, hint, details? }.
 * PxError carries its status; Fastify's schema validation errors become BAD_REQUEST with the
 * failing field; other 4xx errors from Fastify or its plugins keep their status with a stable
 * code (NOT_FOUND for forbidden paths, BAD_REQUEST otherwise); a full disk is DISK_FULL (507);
 * anything else is INTERNAL with a reference that is logged (never the stack or
 * any secret in the response).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PxError, isPxError } from '@powerx/protocol';
import { diskFullError, isDiskFull } from '../storage/disk-full.ts';

export function toErrorBody(
  error: unknown,
  log: { error(obj: object, msg: string): void },
): { status: number; body: ReturnType<PxError['toJSON']> } {
  if (isPxError(error)) return { status: error.status, body: error.toJSON() };
  // Wherever the disk filled up (database, audit, a file write), it is the operator's to fix, not a bug.
  if (isDiskFull(error)) {
    const px = diskFullError(error, 'handling the request');
    return { status: px.status, body: px.toJSON() };
  }
  const fe = error as FastifyError & {
    validation?: Array<{ instancePath?: string; message?: string }>;
    validationContext?: string;
  };
  if (fe?.validation) {
    const first = fe.validation[0];
    const field = `${fe.validationContext ?? 'body'}${first?.instancePath ? first.instancePath.replaceAll('/', '.') : ''}`;
    const px = new PxError('BAD_REQUEST', { detail: `${field} ${first?.message ?? 'is invalid'}`, field });
    return { status: 400, body: px.toJSON() };
  }
  if (
    fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
    fe?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    fe?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    fe?.statusCode === 400
  ) {
    return { status: 400, body: new PxError('BAD_REQUEST', { detail: fe.message }).toJSON() };
  }
  if (fe?.code === 'FST_REQ_FILE_TOO_LARGE' || fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: new PxError('UPLOAD_TOO_LARGE', { limit: 'configured' }).toJSON() };
  }
  if (fe?.statusCode === 404)
    return { status: 404, body: new PxError('NOT_FOUND', { what: 'Route' }).toJSON() };
  // Any other client error raised by Fastify or a plugin (e.g. @fastify/static's
  // FST_STATIC_FORBIDDEN_PATH for /admin/%2e%2e/…, a malformed path) is the request's fault,
  // never INTERNAL: keep its 4xx status and give a stable code with a hint.
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return clientError(fe);
  const ref = randomUUID().slice(0, 8);
  log.error({ err: error, ref }, 'unhandled error');
  return { status: 500, body: new PxError('INTERNAL', { ref }).toJSON() };
}

function clientError(fe: FastifyError): { status: number; body: ReturnType<PxError['toJSON']> } {
  const status = fe.statusCode as number;
  if (fe.code === 'FST_STATIC_FORBIDDEN_PATH' || status === 403) {
    const px = new PxError(
      'NOT_FOUND',
      { what: 'Path' },
      {
        hint: 'Paths that leave the served folder (.., encoded dots or NUL bytes) are not served; use the links the Admin shows.',
      },
    );
    return { status: 404, body: px.toJSON() };
  }
  const px = new PxError(
    'BAD_REQUEST',
    { detail: fe.message || 'the request was refused', code: fe.code ?? null },
    { hint: 'Check the URL and the request against the OpenAPI document at /docs.' },
  );
  return { status, body: px.toJSON() };
}

/** Fastify's `frameworkErrors` option: errors raised before routing (FST_ERR_BAD_URL …). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorBody(error, request.log);
  void reply.status(status).send(body);
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toErrorBody(error, request.log);
    if (status >= 500) request.log.warn({ code: body.code }, body.message);
    // A refused upload may still be streaming in: do not keep that connection for another request.
    if (status === 413) void reply.header('connection', 'close');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(
        new PxError('NOT_FOUND', { what: `Route ${request.method} ${request.url.split('?')[0]}` }).toJSON(),
      );
  });
}
