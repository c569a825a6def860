/**
 * Users, API tokens (hashes only at rest) and developer signing keys. A developer's key is
 * trusted only for that developer's sandbox installs; platform keys come from config.
 */
import { randomUUID } from 'node:crypto';
import { AccessError, ConflictError, InputError, NotFoundError } from '@powerx/protocol';
import { keyIdOf } from '@powerx/package-format';
import type { Db } from '../storage/schema.ts';
import { hashPassword, hashToken, newApiToken, verifyPassword } from './credentials.ts';
import { hasPermission, type Principal } from './principal.ts';

export interface SigningKeyView {
  keyId: string;
  name: string;
  createdAt: string;
  publicKeyPem: string;
}

export class IdentityService {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  async createUser(
    username: string,
    password: string,
    permissions: string[],
  ): Promise<{ id: string; username: string; permissions: string[] }> {
    const existing = await this.#db
      .selectFrom('users')
      .select('id')
      .where('username', '=', username)
      .executeTakeFirst();
    if (existing)
      throw new ConflictError(
        'BAD_REQUEST',
        { detail: `User ${username} already exists` },
        { hint: 'Choose another username.' },
      );
    const id = randomUUID();
    await this.#db
      .insertInto('users')
      .values({
        id,
        username,
        password_hash: await hashPassword(password),
        permissions: JSON.stringify([...new Set(permissions)]),
        created_at: new Date().toISOString(),
      })
      .execute();
    return { id, username, permissions };
  }

  async userByName(username: string): Promise<{ id: string; username: string } | undefined> {
    return this.#db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('username', '=', username)
      .executeTakeFirst();
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.#db
      .updateTable('users')
      .set({ password_hash: await hashPassword(password) })
      .where('id', '=', userId)
      .execute();
  }

  async login(
    username: string,
    password: string,
    tokenName = 'login',
  ): Promise<{ token: string; tokenId: string; user: { id: string; username: string } }> {
    const user = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    // Same error and similar work whether the user exists or not.
    const ok = user
      ? await verifyPassword(password, user.password_hash)
      : (await hashPassword(password), false);
    if (!user || !ok) throw new AccessError('AUTH_INVALID');
    const { token, tokenId } = await this.createToken(user.id, tokenName);
    return { token, tokenId, user: { id: user.id, username: user.username } };
  }

  async createToken(userId: string, name: string): Promise<{ token: string; tokenId: string }> {
    const token = newApiToken();
    const tokenId = randomUUID();
    await this.#db
      .insertInto('api_tokens')
      .values({
        id: tokenId,
        user_id: userId,
        name,
        token_hash: hashToken(token),
        created_at: new Date().toISOString(),
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    return { token, tokenId };
  }

  async revokeToken(userId: string, tokenId: string): Promise<void> {
    const result = await this.#db
      .updateTable('api_tokens')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', tokenId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!result.numUpdatedRows) throw new NotFoundError('NOT_FOUND', { what: `Token ${tokenId}` });
  }

  /** Whether a token authenticated earlier still may (not revoked, its user still there). */
  async isActive(tokenId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select('api_tokens.revoked_at')
      .where('api_tokens.id', '=', tokenId)
      .executeTakeFirst();
    return !!row && !row.revoked_at;
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    const row = await this.#db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id as token_id',
        'api_tokens.revoked_at',
        'users.id as user_id',
        'users.username',
        'users.permissions',
      ])
      .where('api_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.revoked_at) return undefined;
    return {
      userId: row.user_id,
      username: row.username,
      permissions: JSON.parse(row.permissions) as string[],
      tokenId: row.token_id,
    };
  }

  // --- developer signing keys ---

  async addKey(userId: string, publicKeyPem: string, name: string | undefined): Promise<SigningKeyView> {
    let keyId: string;
    try {
      keyId = keyIdOf(publicKeyPem);
    } catch (error) {
      throw new InputError('KEY_INVALID', { path: 'publicKeyPem', detail: (error as Error).message });
    }
    if (/PRIVATE KEY/.test(publicKeyPem)) {
      // Never store a private key by mistake; say so without echoing it.
      throw new InputError('KEY_INVALID', {
        path: 'publicKeyPem',
        detail: 'this is a private key; send the .pub.pem file',
      });
    }
    const existing = await this.#db
      .selectFrom('signing_keys')
      .select('key_id')
      .where('user_id', '=', userId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    const createdAt = new Date().toISOString();
    if (!existing) {
      await this.#db
        .insertInto('signing_keys')
        .values({
          key_id: keyId,
          user_id: userId,
          name: name ?? keyId,
          public_key_pem: publicKeyPem.trim() + '\n',
          created_at: createdAt,
        })
        .execute();
    }
    return (await this.listKeys(userId)).find((k) => k.keyId === keyId)!;
  }

  async listKeys(userId: string): Promise<SigningKeyView[]> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      keyId: r.key_id,
      name: r.name,
      createdAt: r.created_at,
      publicKeyPem: r.public_key_pem,
    }));
  }

  async removeKey(userId: string, keyId: string): Promise<void> {
    const result = await this.#db
      .deleteFrom('signing_keys')
      .where('user_id', '=', userId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    if (!result.numDeletedRows) throw new NotFoundError('NOT_FOUND', { what: `Signing key ${keyId}` });
  }

  async developerKeyPems(userId: string): Promise<string[]> {
    return (await this.listKeys(userId)).map((k) => k.publicKeyPem);
  }

  requirePermission(principal: Principal, permission: string): void {
    if (!hasPermission(principal, permission)) throw new AccessError('PERMISSION_MISSING', { permission });
  }
}
