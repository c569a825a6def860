/** What every page gets from the shell: the API client, who is signed in, the tenants. */
import { createContext, useContext } from 'react';
import type { Me, Tenant } from '@powerx/protocol';
import type { ApiClient } from './api/api-client.ts';

export interface SessionInfo {
  api: ApiClient;
  me: Me;
  tenants: Tenant[];
  /** Dev actions (install, rollback, restart, uninstall, dev sessions): plugin:dev, member, sandbox tenant. */
  canDev(tenant: string): boolean;
  tenant(id: string): Tenant | undefined;
}

export const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside the signed-in shell');
  return value;
}
