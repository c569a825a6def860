/**
 * Typed access to core's REST API. Every body type comes from `@powerx/protocol` (types only),
 * the same TypeBox schemas core validates with, so the Admin and core cannot drift apart.
 */
import type {
  AdminMenu,
  AuditPage,
  AuditQueryParams,
  AuditVerify,
  DevReload,
  DevSessionsList,
  EffectiveDevPolicy,
  ErrorBody,
  Install,
  InstallConfig,
  InstalledPlugin,
  LogPage,
  Me,
  Tenant,
  TenantUsage,
  TokenResponse,
  ValidateResponse,
  VersionInfo,
} from '@powerx/protocol';
import { ApiError } from './api-error.ts';

export type Query = Record<string, string | number | boolean | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>;
    if (body && typeof body.code === 'string')
      return new ApiError(res.status, {
        code: body.code,
        message: body.message ?? res.statusText,
        hint: body.hint ?? '',
        ...(body.details ? { details: body.details } : {}),
      });
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, {
    code: `HTTP_${res.status}`,
    message: `Core answered ${res.status} ${res.statusText}`,
    hint: 'Retry; if it persists, read the core log.',
  });
}

/** Sent with every upload: the multipart order matters (core reads `tenant` before the file). */
export interface PackageUpload {
  tenant: string;
  file: Blob;
  fileName: string;
  config?: InstallConfig;
}

export class ApiClient {
  readonly token: string | null;
  readonly onUnauthorized: () => void;

  constructor(token: string | null, onUnauthorized: () => void = () => {}) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request<T>(
    method: string,
    path: string,
    opts: { query?: Query; json?: unknown; form?: FormData; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: BodyInit | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) body = opts.form;
    const res = await fetch(withQuery(path, opts.query), { method, headers, body });
    if (!res.ok) {
      const error = await errorOf(res);
      if (res.status === 401) this.onUnauthorized();
      throw error;
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** Raw GET for exports (JSON Lines) and probes. */
  async raw(path: string, query?: Query): Promise<Response> {
    return fetch(withQuery(path, query), {
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
    });
  }

  // --- identity ---
  login(username: string, password: string): Promise<TokenResponse> {
    return this.request('POST', '/api/auth/login', { json: { username, password, tokenName: 'admin web' } });
  }
  me(): Promise<Me> {
    return this.request('GET', '/api/me');
  }
  revokeToken(tokenId: string): Promise<void> {
    return this.request('DELETE', `/api/me/tokens/${encodeURIComponent(tokenId)}`);
  }

  // --- tenants ---
  tenants(): Promise<{ tenants: Tenant[] }> {
    return this.request('GET', '/api/tenants');
  }
  usage(tenant: string): Promise<TenantUsage> {
    return this.request('GET', `/api/tenants/${encodeURIComponent(tenant)}/usage`);
  }

  // --- plugins ---
  plugins(tenant: string): Promise<{ plugins: InstalledPlugin[] }> {
    return this.request('GET', `/api/tenants/${encodeURIComponent(tenant)}/plugins`);
  }
  plugin(tenant: string, plugin: string): Promise<InstalledPlugin> {
    return this.request('GET', pluginPath(tenant, plugin));
  }
  rollback(tenant: string, plugin: string): Promise<Install> {
    return this.request('POST', `${pluginPath(tenant, plugin)}/rollback`);
  }
  /** Reconfigure; with an empty config it restarts the plugin on its current values. */
  reconfigure(tenant: string, plugin: string, config: InstallConfig): Promise<Install> {
    return this.request('PUT', `${pluginPath(tenant, plugin)}/config`, { json: config });
  }
  uninstall(tenant: string, plugin: string): Promise<void> {
    return this.request('DELETE', pluginPath(tenant, plugin));
  }
  logs(
    tenant: string,
    plugin: string,
    query: { after?: number; limit?: number; level?: string } = {},
  ): Promise<LogPage> {
    return this.request('GET', `${pluginPath(tenant, plugin)}/logs`, { query });
  }

  // --- installs ---
  installs(tenant: string, plugin?: string, limit = 50): Promise<{ installs: Install[] }> {
    return this.request('GET', '/api/installs', { query: { tenant, plugin, limit } });
  }
  install(id: string): Promise<Install> {
    return this.request('GET', `/api/installs/${encodeURIComponent(id)}`);
  }
  submitConfig(id: string, config: InstallConfig): Promise<Install> {
    return this.request('POST', `/api/installs/${encodeURIComponent(id)}/config`, { json: config });
  }
  validatePackage(upload: PackageUpload): Promise<ValidateResponse> {
    return this.request('POST', '/internal/plugins/packages/validate', {
      query: { tenant: upload.tenant },
      form: packageForm(upload),
    });
  }
  installPackage(upload: PackageUpload, idempotencyKey: string): Promise<Install> {
    return this.request('POST', '/api/plugins/install/local', {
      query: { tenant: upload.tenant },
      form: packageForm(upload),
      headers: { 'idempotency-key': idempotencyKey },
    });
  }

  // --- dev mode: every route answers 404 DEV_MODE_DISABLED with a hint when core is not in dev mode ---
  devStatus(): Promise<{ devMode: boolean; roots: string[]; sessionTtlMs: number }> {
    return this.request('GET', '/api/plugins/dev/status');
  }
  /** The dev policy in force (dev_policy.yaml, its defaults and overrides); answers with dev mode off too. */
  devPolicy(): Promise<EffectiveDevPolicy> {
    return this.request('GET', '/api/plugins/dev/policy');
  }
  /** Core's version and its feature flags (public). */
  version(): Promise<VersionInfo> {
    return this.request('GET', '/api/version');
  }
  /** Active dev sessions of the tenant with their reload history (and that of plugins whose session ended). */
  devSessions(tenant: string): Promise<DevSessionsList> {
    return this.request('GET', '/api/plugins/dev/sessions', { query: { tenant } });
  }
  /** Answers once the new version serves (`result: running`) or with the reason it does not. */
  devInstallPath(tenant: string, path: string): Promise<DevReload> {
    return this.request('POST', '/api/plugins/dev/install', { json: { tenant, path } });
  }
  /** An unsigned .pxp packed in the browser from a picked build folder (see dev/pack-build-folder.ts). */
  devInstallUpload(tenant: string, pxp: Blob, fileName: string): Promise<DevReload> {
    const form = new FormData();
    form.append('tenant', tenant);
    form.append('package', pxp, fileName);
    return this.request('POST', '/api/plugins/dev/install', { form });
  }

  // --- audit ---
  audit(query: AuditQueryParams): Promise<AuditPage> {
    return this.request('GET', '/api/audit', { query: query as Query });
  }
  verifyAudit(): Promise<AuditVerify> {
    return this.request('GET', '/api/audit/verify');
  }
}

function pluginPath(tenant: string, plugin: string): string {
  return `/api/tenants/${encodeURIComponent(tenant)}/plugins/${encodeURIComponent(plugin)}`;
}

function packageForm(upload: PackageUpload): FormData {
  const form = new FormData();
  form.append('tenant', upload.tenant);
  if (upload.config) form.append('config', JSON.stringify(upload.config));
  form.append('package', upload.file, upload.fileName);
  return form;
}

/**
 * Admin pages that plugins declare in their manifest (`admin.menus`), per tenant; served by
 * core's `GET /api/tenants/:tenant/admin-pages` (packages/core/src/http/routes/admin-static-routes.ts).
 */
export interface PluginAdminPages {
  plugins: Array<{ pluginId: string; name: string; pagesUrl: string; menus: AdminMenu[] }>;
}

export function adminPages(api: ApiClient, tenant: string): Promise<PluginAdminPages> {
  return api.request('GET', `/api/tenants/${encodeURIComponent(tenant)}/admin-pages`);
}

/** Entry point URLs from core are absolute on core's own address; the Admin links them on its origin. */
export function onThisOrigin(url: string): string {
  try {
    const u = new URL(url, location.href);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}
