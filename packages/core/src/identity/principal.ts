/** Who is calling: resolved from the bearer token by the auth hook. */
export interface Principal {
  userId: string;
  username: string;
  permissions: string[];
  tokenId: string;
}

export function hasPermission(principal: Principal, permission: string): boolean {
  return principal.permissions.includes(permission) || principal.permissions.includes('admin');
}
