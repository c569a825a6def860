/**
 * Tenants (sandbox or production) and their members. `assertDevAccess` is the one gate of every
 * dev operation: permission plugin:dev, an existing tenant, membership, and a sandbox tenant.
 */
import { AccessError, ConflictError, NotFoundError } from '@powerx/protocol';
import type { Db, TenantsTable } from '../storage/schema.ts';
import { hasPermission, type Principal } from '../identity/principal.ts';

export interface TenantView {
  id: string;
  name: string;
  kind: 'sandbox' | 'production';
  allowUnsigned: boolean;
  createdAt: string;
}

function view(row: TenantsTable): TenantView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    allowUnsigned: row.allow_unsigned === 1,
    createdAt: row.created_at,
  };
}

export class TenantService {
  readonly #db: Db;
  readonly #sandboxMode: () => void;
  /** `sandboxMode` throws when sandbox tenants are switched off (feature flag plugin-sandbox-mode). */
  constructor(db: Db, sandboxMode: () => void = () => {}) {
    this.#db = db;
    this.#sandboxMode = sandboxMode;
  }

  async get(tenantId: string): Promise<TenantView | undefined> {
    const row = await this.#db
      .selectFrom('tenants')
      .selectAll()
      .where('id', '=', tenantId)
      .executeTakeFirst();
    return row && view(row);
  }

  async require(tenantId: string): Promise<TenantView> {
    const tenant = await this.get(tenantId);
    if (!tenant) throw new NotFoundError('TENANT_NOT_FOUND', { tenant: tenantId });
    return tenant;
  }

  async create(
    input: { id: string; name?: string; kind: 'sandbox' | 'production'; allowUnsigned?: boolean },
    ownerId: string,
  ): Promise<TenantView> {
    if (await this.get(input.id))
      throw new ConflictError(
        'BAD_REQUEST',
        { detail: `Tenant ${input.id} already exists` },
        { hint: 'Choose another tenant id.' },
      );
    const now = new Date().toISOString();
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('tenants')
        .values({
          id: input.id,
          name: input.name ?? input.id,
          kind: input.kind,
          allow_unsigned: input.allowUnsigned ? 1 : 0,
          created_at: now,
          created_by: ownerId,
        })
        .execute();
      await trx
        .insertInto('tenant_members')
        .values({ tenant_id: input.id, user_id: ownerId, role: 'owner', created_at: now })
        .execute();
    });
    return (await this.get(input.id))!;
  }

  /** Tenants a user created (the per-user cap on tenant creation counts these). */
  async countCreatedBy(userId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('tenants')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('created_by', '=', userId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async addMember(tenantId: string, userId: string, role: string): Promise<void> {
    await this.require(tenantId);
    await this.#db
      .insertInto('tenant_members')
      .values({ tenant_id: tenantId, user_id: userId, role, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  async isMember(tenantId: string, userId: string): Promise<boolean> {
    return (await this.roleOf(tenantId, userId)) !== undefined;
  }

  /** The member's role in the tenant (owner, developer, …), or undefined for a non-member. */
  async roleOf(tenantId: string, userId: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('tenant_members')
      .select('role')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  async membershipsOf(userId: string): Promise<Array<{ id: string; kind: string; role: string }>> {
    return this.#db
      .selectFrom('tenant_members')
      .innerJoin('tenants', 'tenants.id', 'tenant_members.tenant_id')
      .select(['tenants.id', 'tenants.kind', 'tenant_members.role'])
      .where('tenant_members.user_id', '=', userId)
      .orderBy('tenants.id')
      .execute();
  }

  async listFor(principal: Principal): Promise<TenantView[]> {
    const rows = hasPermission(principal, 'admin')
      ? await this.#db.selectFrom('tenants').selectAll().orderBy('id').execute()
      : await this.#db
          .selectFrom('tenants')
          .innerJoin('tenant_members', 'tenant_members.tenant_id', 'tenants.id')
          .selectAll('tenants')
          .where('tenant_members.user_id', '=', principal.userId)
          .orderBy('tenants.id')
          .execute();
    return rows.map(view);
  }

  /** A dev operation (install, rollback, reconfigure, uninstall, logs) in a tenant. */
  async assertDevAccess(principal: Principal, tenantId: string): Promise<TenantView> {
    if (!hasPermission(principal, 'plugin:dev'))
      throw new AccessError('PERMISSION_MISSING', { permission: 'plugin:dev' });
    const tenant = await this.require(tenantId);
    if (!(await this.isMember(tenantId, principal.userId)))
      throw new AccessError('TENANT_NOT_MEMBER', { tenant: tenantId });
    if (tenant.kind !== 'sandbox') throw new AccessError('TENANT_NOT_SANDBOX', { tenant: tenantId });
    this.#sandboxMode();
    return tenant;
  }

  /** Reading a tenant's plugins, installs and audit: members (or admins). */
  async assertReadAccess(principal: Principal, tenantId: string): Promise<TenantView> {
    const tenant = await this.require(tenantId);
    if (!hasPermission(principal, 'admin') && !(await this.isMember(tenantId, principal.userId)))
      throw new AccessError('TENANT_NOT_MEMBER', { tenant: tenantId });
    return tenant;
  }
}
