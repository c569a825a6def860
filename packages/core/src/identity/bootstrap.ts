/**
 * First start: an admin user (password printed once and written to a 0600 file), the sandbox
 * tenant `sandbox-dev` and the production tenant `default`, and an admin API token in
 * `<dataDir>/admin-token` (0600). Later starts reuse the token file if it still authenticates.
 */
import { readFile } from 'node:fs/promises';
import type { Db } from '../storage/schema.ts';
import type { IdentityService } from './identity-service.ts';
import type { TenantService } from '../tenants/tenant-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CorePaths } from '../config/core-paths.ts';
import { newPassword } from './credentials.ts';
import { writeFileAtomic } from '../storage/atomic-file.ts';

export interface BootstrapResult {
  adminToken: string;
  /** Only on the very first start. */
  adminPassword?: string;
}

/** Whole or absent (a full disk never leaves an empty token file), owner-only. */
async function writeSecretFile(path: string, content: string): Promise<void> {
  await writeFileAtomic(path, content, { mode: 0o600 });
}

export async function bootstrap(
  db: Db,
  identity: IdentityService,
  tenants: TenantService,
  audit: AuditLog,
  paths: CorePaths,
  adminPasswordFromEnv?: string,
): Promise<BootstrapResult> {
  let adminPassword: string | undefined;
  let admin = await identity.userByName('admin');
  if (!admin) {
    adminPassword = adminPasswordFromEnv || newPassword();
    const created = await identity.createUser('admin', adminPassword, ['admin', 'plugin:dev', 'audit:read']);
    admin = { id: created.id, username: created.username };
    await writeSecretFile(paths.adminPassword, adminPassword + '\n');
    await audit.append({
      actor: 'system',
      action: 'user.create',
      target: 'admin',
      outcome: 'ok',
      details: { permissions: created.permissions, bootstrap: true },
    });
  }
  for (const t of [
    { id: 'sandbox-dev', name: 'Sandbox (dev)', kind: 'sandbox' as const, allowUnsigned: true },
    { id: 'default', name: 'Default (production)', kind: 'production' as const, allowUnsigned: false },
  ]) {
    if (!(await tenants.get(t.id))) {
      await tenants.create(t, admin.id);
      await audit.append({
        actor: 'system',
        tenant: t.id,
        action: 'tenant.create',
        target: t.id,
        outcome: 'ok',
        details: { kind: t.kind, bootstrap: true },
      });
    }
  }
  const existing = await readFile(paths.adminToken, 'utf8')
    .then((s) => s.trim())
    .catch(() => '');
  if (existing && (await identity.authenticate(existing))?.userId === admin.id)
    return { adminToken: existing, ...(adminPassword ? { adminPassword } : {}) };
  const { token } = await identity.createToken(admin.id, 'admin-token file');
  await writeSecretFile(paths.adminToken, token + '\n');
  void db;
  return { adminToken: token, ...(adminPassword ? { adminPassword } : {}) };
}
