/**
 * Puts the request id into the log context for everything a request starts (an install goes on
 * in the background after the response; its lines still carry the id), honours a sane incoming
 * x-request-id and sends the id back in x-request-id.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { logContext } from './log-context.ts';

/** Fastify genReqId: the caller's x-request-id when it is a short plain token, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && /^[\w.:-]{1,64}$/.test(incoming) ? incoming : randomUUID();
}

export function installRequestLogContext(app: FastifyInstance): void {
  // A callback hook (not async): running `done` inside run() makes the rest of the request, its
  // handler and whatever it starts, inherit the context.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    logContext.run({ reqId: String(request.id) }, done);
  });
}
