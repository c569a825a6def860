/**
 * The debugging permission policy: `config/plugins/dev_policy.yaml` (PX_DEV_POLICY_FILE or the
 * devPolicyFile option point elsewhere), resolved with its defaults and the overrides.
 *
 * Precedence, highest first: a startCore option (devMode, retentionDays), an environment variable
 * (PX_PLUGIN_DEV_MODE, PX_DEV_ROOTS, PX_DEV_SESSION_TTL_MS, PX_RETENTION_DAYS), the file, the
 * default. The effective policy lists which fields an override set, so an operator reading the
 * file is never surprised by what core does.
 *
 * A bad file stops core at start with DEV_POLICY_INVALID naming the field. A re-read (SIGHUP)
 * that finds a bad file keeps the policy in force and reports why in `lastReloadError`: a typo
 * while editing must not switch dev mode off, or on, under running sessions.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { Compile } from 'typebox/compile';
import { parse } from 'yaml';
import { DevPolicyFileSchema, PxError, type DevPolicyFile, type EffectiveDevPolicy } from '@powerx/protocol';
import { expandRoot, isInside } from '../dev/dev-roots.ts';
import { firstSchemaError } from './schema-error.ts';
import { coreConfigError } from './settings.ts';

const check = Compile(DevPolicyFileSchema);

export const DEV_POLICY_DEFAULTS = {
  devMode: false,
  access: { permission: 'plugin:dev', roles: ['owner', 'developer'], tenants: ['*'] },
  // None: path mode is opt-in; px-plugin dev uploads its build when core may read no folder.
  roots: [] as string[],
  unsignedDevBuilds: { default: true, tenants: {} as Record<string, boolean> },
  sessions: { maxPerUser: 10, idleTimeoutSeconds: 30 },
  retention: { logDays: 7, devAuditDays: 7 },
};

/** What may override the file: the startCore options and the environment core was started with. */
export interface DevPolicyOverrides {
  devMode?: boolean;
  retentionDays?: number;
  /** PX_PLUGIN_DEV_MODE, PX_DEV_ROOTS, PX_DEV_SESSION_TTL_MS, PX_RETENTION_DAYS as core-config.ts read them. */
  env?: DevPolicyEnv;
}

export interface DevPolicyEnv {
  readonly devMode?: boolean;
  readonly roots?: readonly string[];
  readonly sessionTtlMs?: number;
  readonly retentionDays?: number;
}

function invalid(file: string, detail: string): PxError {
  return new PxError('DEV_POLICY_INVALID', { file, detail });
}

/** Parses and checks the file's text; roots are checked against core's data folder. */
export function parseDevPolicyFile(text: string, file: string, dataDir: string): DevPolicyFile {
  let value: unknown;
  try {
    value = parse(text) ?? {};
  } catch (error) {
    throw invalid(file, `not valid YAML: ${(error as Error).message}`);
  }
  if (!check.Check(value)) throw invalid(file, firstSchemaError(check.Errors(value)));
  const policy = value as DevPolicyFile;
  (policy.roots ?? []).forEach((root, i) => {
    if (!isAbsolute(root) && root !== '~' && !root.startsWith('~/'))
      throw invalid(file, `roots.${i}: must be an absolute path or start with ~/ (${JSON.stringify(root)})`);
    if (isInside(expandRoot(root), resolve(dataDir)))
      throw invalid(
        file,
        `roots.${i}: ${JSON.stringify(root)} lies inside core's data folder, which is never a dev source`,
      );
  });
  return policy;
}

/** The file with its defaults filled and the overrides applied. */
export function resolveDevPolicy(
  policy: DevPolicyFile,
  file: string,
  overrides: DevPolicyOverrides,
): EffectiveDevPolicy {
  const env = overrides.env ?? {};
  const d = DEV_POLICY_DEFAULTS;
  const set: EffectiveDevPolicy['overrides'] = [];
  const pick = <T>(
    field: string,
    fromFile: T | undefined,
    fallback: T,
    ...over: Array<[string, T | undefined]>
  ): T => {
    for (const [source, value] of over)
      if (value !== undefined) {
        set.push({ field, source });
        return value;
      }
    return fromFile ?? fallback;
  };
  const envFlag = env.devMode;
  const envRoots = env.roots ? [...env.roots] : undefined;
  const envTtl = env.sessionTtlMs !== undefined ? env.sessionTtlMs / 1000 : undefined;
  const envRetention = env.retentionDays;
  const retentionOver: Array<[string, number | undefined]> = [
    ['retentionDays option', overrides.retentionDays],
    ['PX_RETENTION_DAYS', envRetention],
  ];
  return {
    file,
    loadedAt: new Date().toISOString(),
    devMode: pick(
      'devMode',
      policy.devMode,
      d.devMode,
      ['devMode option', overrides.devMode],
      ['PX_PLUGIN_DEV_MODE', envFlag],
    ),
    access: {
      permission: policy.access?.permission ?? d.access.permission,
      roles: policy.access?.roles ?? d.access.roles,
      tenants: policy.access?.tenants ?? d.access.tenants,
    },
    roots: pick('roots', policy.roots, d.roots, ['PX_DEV_ROOTS', envRoots]).map(expandRoot),
    unsignedDevBuilds: {
      default: policy.unsignedDevBuilds?.default ?? d.unsignedDevBuilds.default,
      tenants: policy.unsignedDevBuilds?.tenants ?? {},
    },
    sessions: {
      maxPerUser: policy.sessions?.maxPerUser ?? d.sessions.maxPerUser,
      idleTimeoutSeconds: pick(
        'sessions.idleTimeoutSeconds',
        policy.sessions?.idleTimeoutSeconds,
        d.sessions.idleTimeoutSeconds,
        ['PX_DEV_SESSION_TTL_MS', envTtl],
      ),
    },
    retention: {
      logDays: pick('retention.logDays', policy.retention?.logDays, d.retention.logDays, ...retentionOver),
      devAuditDays: pick(
        'retention.devAuditDays',
        policy.retention?.devAuditDays,
        d.retention.devAuditDays,
        ...retentionOver,
      ),
    },
    overrides: set,
  };
}

/** PX_DEV_ROOTS gets the same checks as the file's roots, as a CORE_CONFIG_INVALID naming the variable. */
function checkEnvRoots(env: DevPolicyEnv | undefined, dataDir: string): void {
  for (const root of env?.roots ?? []) {
    const fix = `List absolute folders separated by ":", none inside core's data folder (${resolve(dataDir)}).`;
    if (!isAbsolute(root) && root !== '~' && !root.startsWith('~/'))
      throw coreConfigError('PX_DEV_ROOTS', root, 'each root must be an absolute path', fix);
    if (isInside(expandRoot(root), resolve(dataDir)))
      throw coreConfigError(
        'PX_DEV_ROOTS',
        root,
        "lies inside core's data folder, which is never a dev source",
        fix,
      );
  }
}

/** May this tenant id be targeted by dev installs under these patterns? */
export function tenantMatches(tenant: string, patterns: string[]): boolean {
  return patterns.some(
    (p) => p === '*' || p === tenant || (p.endsWith('*') && tenant.startsWith(p.slice(0, -1))),
  );
}

export function unsignedAllowed(policy: EffectiveDevPolicy, tenant: string): boolean {
  return policy.unsignedDevBuilds.tenants[tenant] ?? policy.unsignedDevBuilds.default;
}

/** The policy in force, re-read on demand (SIGHUP in main.ts) without a restart. */
export class DevPolicyStore {
  readonly file: string;
  readonly #dataDir: string;
  readonly #overrides: DevPolicyOverrides;
  #current: EffectiveDevPolicy;
  readonly #listeners = new Set<(policy: EffectiveDevPolicy) => void>();

  private constructor(
    file: string,
    dataDir: string,
    overrides: DevPolicyOverrides,
    current: EffectiveDevPolicy,
  ) {
    this.file = file;
    this.#dataDir = dataDir;
    this.#overrides = overrides;
    this.#current = current;
  }

  static async load(
    file: string,
    dataDir: string,
    overrides: DevPolicyOverrides = {},
  ): Promise<DevPolicyStore> {
    const current = await DevPolicyStore.#read(file, dataDir, overrides);
    return new DevPolicyStore(file, dataDir, overrides, current);
  }

  static async #read(
    file: string,
    dataDir: string,
    overrides: DevPolicyOverrides,
  ): Promise<EffectiveDevPolicy> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw invalid(file, `cannot read it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const policy = resolveDevPolicy(parseDevPolicyFile(text, file, dataDir), file, overrides);
    checkEnvRoots(overrides.env, dataDir);
    return policy;
  }

  get current(): EffectiveDevPolicy {
    return this.#current;
  }

  /** Re-reads the file. A bad file keeps the policy in force and is reported (thrown and in lastReloadError). */
  async reload(): Promise<EffectiveDevPolicy> {
    try {
      this.#current = await DevPolicyStore.#read(this.file, this.#dataDir, this.#overrides);
    } catch (error) {
      this.#current = { ...this.#current, lastReloadError: (error as Error).message };
      throw error;
    }
    for (const listener of this.#listeners) listener(this.#current);
    return this.#current;
  }

  onChange(listener: (policy: EffectiveDevPolicy) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
