/**
 * The dev policy's part of the gate of every dev operation (open a session, install, uninstall),
 * on top of core's own (permission plugin:dev, membership, a sandbox tenant): the policy can only
 * narrow who may dev-install where, never widen it.
 */
import { AccessError, type EffectiveDevPolicy } from '@powerx/protocol';
import { hasPermission, type Principal } from '../identity/principal.ts';
import { tenantMatches } from '../config/dev-policy.ts';

export function assertDevPolicy(
  policy: EffectiveDevPolicy,
  principal: Principal,
  tenant: string,
  role: string | undefined,
): void {
  const deny = (reason: string) => new AccessError('DEV_ACCESS_DENIED', { tenant, reason });
  if (!hasPermission(principal, policy.access.permission))
    throw deny(`permission ${policy.access.permission} is required`);
  if (!tenantMatches(tenant, policy.access.tenants))
    throw deny(`dev installs may target only ${policy.access.tenants.join(', ')}`);
  // Admins hold every permission; the member roles are for everyone else.
  if (!hasPermission(principal, 'admin') && !(role && policy.access.roles.includes(role)))
    throw deny(`your role ${role ?? '(none)'} is not one of ${policy.access.roles.join(', ')}`);
}
