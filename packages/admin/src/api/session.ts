/**
 * The signed-in session: an API token kept in localStorage so a reload keeps the user signed in.
 * A password sign-in exchanges the password for a token at once; the password is never stored.
 */
const TOKEN_KEY = 'px.admin.token';
const TENANT_KEY = 'px.admin.tenant';

export function loadToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearSession(): void {
  localStorage.removeItem(TOKEN_KEY);
}

export function loadTenant(): string | null {
  return localStorage.getItem(TENANT_KEY);
}

export function saveTenant(tenant: string): void {
  localStorage.setItem(TENANT_KEY, tenant);
}
