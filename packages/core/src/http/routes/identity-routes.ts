import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  CreateTokenBodySchema,
  CreateUserBodySchema,
  LoginBodySchema,
  MeSchema,
  SigningKeyBodySchema,
  SigningKeySchema,
  TokenResponseSchema,
  UserSchema,
  AddMemberBodySchema,
  NotFoundError,
} from '@powerx/protocol';
import type { CoreServices } from '../../core-services.ts';
import { principalOf } from '../auth-hook.ts';

export function registerIdentityRoutes(base: FastifyInstance, s: CoreServices): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['identity'],
        summary: 'Exchange username and password for an API token',
        body: LoginBodySchema,
        response: { 200: TokenResponseSchema },
      },
    },
    async (req) => {
      try {
        const result = await s.identity.login(
          req.body.username,
          req.body.password,
          req.body.tokenName ?? 'login',
        );
        await s.audit.append({ actor: req.body.username, action: 'auth.login', outcome: 'ok' });
        return result;
      } catch (error) {
        await s.audit.append({
          actor: req.body.username.slice(0, 128),
          action: 'auth.login',
          outcome: 'denied',
        });
        throw error;
      }
    },
  );

  app.get(
    '/api/me',
    { schema: { tags: ['identity'], summary: 'Who am I', response: { 200: MeSchema } } },
    async (req) => {
      const p = principalOf(req);
      return {
        id: p.userId,
        username: p.username,
        permissions: p.permissions,
        tenants: await s.tenants.membershipsOf(p.userId),
      };
    },
  );

  app.post(
    '/api/me/tokens',
    {
      schema: {
        tags: ['identity'],
        summary: 'Create another API token',
        body: CreateTokenBodySchema,
        response: { 201: Type.Object({ token: Type.String(), tokenId: Type.String() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const created = await s.identity.createToken(p.userId, req.body.name);
      await s.audit.append({
        actor: p.username,
        action: 'auth.token.create',
        target: created.tokenId,
        outcome: 'ok',
        details: { name: req.body.name },
      });
      return reply.status(201).send(created);
    },
  );

  app.delete(
    '/api/me/tokens/:tokenId',
    {
      schema: {
        tags: ['identity'],
        summary: 'Revoke one of my tokens',
        params: Type.Object({ tokenId: Type.String() }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await s.identity.revokeToken(p.userId, req.params.tokenId);
      // Sockets authenticate once: those opened with this token, on any node, are closed now.
      await s.bus.publish('auth.token.revoked', { tokenId: req.params.tokenId, userId: p.userId });
      await s.audit.append({
        actor: p.username,
        action: 'auth.token.revoke',
        target: req.params.tokenId,
        outcome: 'ok',
      });
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/me/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Register a public signing key (trusted for my sandbox installs)',
        body: SigningKeyBodySchema,
        response: { 201: SigningKeySchema },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      try {
        const key = await s.identity.addKey(p.userId, req.body.publicKeyPem, req.body.name);
        await s.audit.append({
          actor: p.username,
          action: 'keys.register',
          target: key.keyId,
          outcome: 'ok',
          details: { name: key.name },
        });
        return reply.status(201).send(key);
      } catch (error) {
        await s.audit.append({
          actor: p.username,
          action: 'keys.register',
          outcome: 'failed',
          details: { code: (error as { code?: string }).code },
        });
        throw error;
      }
    },
  );

  app.get(
    '/api/me/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'My registered signing keys',
        response: { 200: Type.Object({ keys: Type.Array(SigningKeySchema) }) },
      },
    },
    async (req) => ({ keys: await s.identity.listKeys(principalOf(req).userId) }),
  );

  app.delete(
    '/api/me/keys/:keyId',
    {
      schema: {
        tags: ['keys'],
        summary: 'Remove a signing key',
        params: Type.Object({ keyId: Type.String() }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await s.identity.removeKey(p.userId, req.params.keyId);
      await s.audit.append({
        actor: p.username,
        action: 'keys.remove',
        target: req.params.keyId,
        outcome: 'ok',
      });
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/users',
    {
      schema: {
        tags: ['identity'],
        summary: 'Create a user (admin)',
        body: CreateUserBodySchema,
        response: { 201: UserSchema },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      s.identity.requirePermission(p, 'admin');
      const user = await s.identity.createUser(
        req.body.username,
        req.body.password,
        req.body.permissions ?? [],
      );
      await s.audit.append({
        actor: p.username,
        action: 'user.create',
        target: user.username,
        outcome: 'ok',
        details: { permissions: user.permissions },
      });
      return reply.status(201).send(user);
    },
  );

  app.post(
    '/api/tenants/:tenant/members',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Add a member to a tenant (admin)',
        params: Type.Object({ tenant: Type.String() }),
        body: AddMemberBodySchema,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      s.identity.requirePermission(p, 'admin');
      const user = await s.identity.userByName(req.body.username);
      if (!user) throw new NotFoundError('NOT_FOUND', { what: `User ${req.body.username}` });
      await s.tenants.addMember(req.params.tenant, user.id, req.body.role ?? 'developer');
      await s.audit.append({
        actor: p.username,
        tenant: req.params.tenant,
        action: 'tenant.member.add',
        target: user.username,
        outcome: 'ok',
        details: { role: req.body.role ?? 'developer' },
      });
      return reply.status(204).send();
    },
  );
}
