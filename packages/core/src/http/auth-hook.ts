/**
 * Every request but health, metrics, docs and the plugin entry points needs a bearer token.
 * The principal is attached to the request; routes never parse the header themselves.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccessError } from '@powerx/protocol';
import type { IdentityService } from '../identity/identity-service.ts';
import type { Principal } from '../identity/principal.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const PUBLIC = [
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/docs(\/|$)/,
  /^\/api\/auth\/login$/,
  /^\/api\/version$/,
  /^\/_p\//,
  /^\/admin(\/|$)/,
  /^\/api\/ws$/,
]; // /api/ws authenticates itself (header or a first auth frame: browsers cannot set headers on a WebSocket)

export function installAuthHook(app: FastifyInstance, identity: IdentityService): void {
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0];
    if (PUBLIC.some((re) => re.test(path))) return;
    const header = request.headers.authorization;
    if (!header) throw new AccessError('AUTH_REQUIRED');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AccessError('AUTH_INVALID');
    const principal = await identity.authenticate(match[1]);
    if (!principal) throw new AccessError('AUTH_INVALID');
    request.principal = principal;
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AccessError('AUTH_REQUIRED');
  return request.principal;
}
