/**
 * Loads and validates `config/plugins/sandbox_limits.yaml`. A bad file stops core at start with
 * LIMITS_CONFIG_INVALID naming the field, instead of surprising someone at install time.
 */
import { readFile } from 'node:fs/promises';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { parse } from 'yaml';
import { PxError } from '@powerx/protocol';
import { parseNetworks } from '../plugins/outbound/address-policy.ts';
import { firstSchemaError } from '../config/schema-error.ts';

const QuotaFields = {
  maxPlugins: Type.Integer({ minimum: 0 }),
  maxMemoryMb: Type.Integer({ minimum: 0 }),
  maxDiskMb: Type.Integer({ minimum: 0 }),
  maxCpuPercent: Type.Integer({ minimum: 0 }),
  maxPackageMb: Type.Number({ exclusiveMinimum: 0 }),
  installsPerMinute: Type.Integer({ minimum: 0 }),
  // runtime.kind "process" plugins get no file-system sandbox (only a network namespace): they
  // run as core's user and could read other instances' files. Off unless a tenant opts in.
  allowProcessPlugins: Type.Optional(Type.Boolean()),
  // Sum of resources.storageMb (ctx.storage) of the tenant's plugins; absent: 1024.
  maxStorageMb: Type.Optional(Type.Integer({ minimum: 0 })),
  // Largest single ctx.storage document, in KiB; absent: 1024 (1 MiB).
  maxStorageDocKb: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 * 1024 })),
  // Networks (CIDR, or single addresses) this tenant's plugins may reach over ctx.http although
  // they are loopback, private, link-local or core's own. Only the operator sets this; a manifest
  // can never widen it.
  outboundAllowNetworks: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
};

export const TenantLimitsSchema = Type.Object(QuotaFields, { additionalProperties: false });
export type TenantLimits = Static<typeof TenantLimitsSchema>;

export const SandboxLimitsFileSchema = Type.Object(
  {
    defaults: TenantLimitsSchema,
    // Tenants one user may create (needs permission tenant:create); admins are not counted.
    // With the per-tenant quotas above this bounds what any developer can hold. Absent: 3.
    maxTenantsPerUser: Type.Optional(Type.Integer({ minimum: 0 })),
    tenants: Type.Optional(
      Type.Record(Type.String(), Type.Partial(TenantLimitsSchema, { additionalProperties: false })),
    ),
    // Which production tenant a sandbox tenant's packages are also checked against, so a developer
    // learns in the sandbox, not at release, that a package would not fit production.
    production: Type.Optional(
      Type.Object(
        {
          default: Type.Optional(Type.String({ minLength: 1 })),
          tenants: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1 }))),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SandboxLimitsFile = Static<typeof SandboxLimitsFileSchema>;

const check = Compile(SandboxLimitsFileSchema);
const MB = 1024 * 1024;
export const DEFAULT_MAX_STORAGE_MB = 1024;
const DEFAULT_MAX_DOC_KB = 1024;
const DEFAULT_MAX_TENANTS_PER_USER = 3;

/** The first bad CIDR of any tenant, as "<where>: <value>". */
function badNetwork(file: SandboxLimitsFile): string | undefined {
  const all = [['defaults', file.defaults] as const, ...Object.entries(file.tenants ?? {})];
  for (const [name, limits] of all)
    for (const [i, net] of (limits.outboundAllowNetworks ?? []).entries()) {
      try {
        parseNetworks([net]);
      } catch {
        const where = name === 'defaults' ? 'defaults' : `tenants.${name}`;
        return `${where}.outboundAllowNetworks.${i}: "${net}" is not an address or CIDR`;
      }
    }
  return undefined;
}

export class SandboxLimits {
  readonly file: SandboxLimitsFile;
  constructor(file: SandboxLimitsFile) {
    this.file = file;
  }

  forTenant(tenant: string): TenantLimits {
    return { ...this.file.defaults, ...this.file.tenants?.[tenant] };
  }

  storageBytesFor(tenant: string): { maxTotal: number; maxDoc: number } {
    const t = this.forTenant(tenant);
    return {
      maxTotal: (t.maxStorageMb ?? DEFAULT_MAX_STORAGE_MB) * MB,
      maxDoc: (t.maxStorageDocKb ?? DEFAULT_MAX_DOC_KB) * 1024,
    };
  }

  maxTenantsPerUser(): number {
    return this.file.maxTenantsPerUser ?? DEFAULT_MAX_TENANTS_PER_USER;
  }

  /** The production counterpart of a sandbox tenant (`production` in the file; default: "default"). */
  productionFor(tenant: string): string {
    return this.file.production?.tenants?.[tenant] ?? this.file.production?.default ?? 'default';
  }

  /** The largest upload any tenant accepts: the streaming cut-off before the tenant is known. */
  maxPackageBytesAnyTenant(): number {
    const all = [
      this.file.defaults.maxPackageMb,
      ...Object.values(this.file.tenants ?? {}).map((t) => t.maxPackageMb ?? 0),
    ];
    return Math.floor(Math.max(...all) * 1024 * 1024);
  }

  static parse(text: string, source: string): SandboxLimits {
    let value: unknown;
    try {
      value = parse(text);
    } catch (error) {
      throw new PxError('LIMITS_CONFIG_INVALID', {
        detail: `${source} is not valid YAML: ${(error as Error).message}`,
      });
    }
    if (!check.Check(value))
      throw new PxError('LIMITS_CONFIG_INVALID', { detail: firstSchemaError(check.Errors(value)) });
    const network = badNetwork(value);
    if (network) throw new PxError('LIMITS_CONFIG_INVALID', { detail: network });
    return new SandboxLimits(value);
  }

  static async load(file: string): Promise<SandboxLimits> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new PxError('LIMITS_CONFIG_INVALID', {
        detail: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      });
    }
    return SandboxLimits.parse(text, file);
  }
}
