/**
 * The wizard's result as it is kept on an install row: env values and the secret NAMES in
 * `config` (JSON), the secret values sealed in `secrets_enc`. Reconfigure and dev reloads start
 * from the config of the serving install.
 */
import type { LogLevel, Manifest } from '@powerx/protocol';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { PluginRepository } from '../plugins/plugin-repository.ts';
import type { InstallRow, InstallStore } from './install-store.ts';
import { inferExplicitEnv, type ResolvedConfig } from './wizard.ts';

interface StoredConfig {
  env: Record<string, string | number | boolean>;
  /** Names only; values live sealed in secrets_enc. */
  secrets: string[];
  logLevel: LogLevel;
  missing?: string[];
  /** Env names set explicitly (wizard / --env); the others follow the manifest default (wizard.ts resolveConfig). */
  explicitEnv?: string[];
}

/** A config as the wizard and the runtime take it: secret values opened. */
export interface OpenedConfig {
  env: Record<string, string | number | boolean>;
  secrets: Record<string, string>;
  logLevel: LogLevel;
  explicitEnv?: string[];
}

export async function saveConfig(
  d: { store: InstallStore; secrets: SecretBox },
  id: string,
  resolved: ResolvedConfig,
): Promise<void> {
  const stored: StoredConfig = {
    env: resolved.env,
    secrets: Object.keys(resolved.secrets),
    logLevel: resolved.logLevel,
    ...(resolved.missing.length ? { missing: resolved.missing } : {}),
    explicitEnv: resolved.explicitEnv,
  };
  await d.store.update(id, {
    config: JSON.stringify(stored),
    secrets_enc: Object.keys(resolved.secrets).length ? d.secrets.sealJson(resolved.secrets) : null,
  });
}

export function openConfig(secrets: SecretBox, row: InstallRow): OpenedConfig {
  const stored: StoredConfig = row.config
    ? (JSON.parse(row.config) as StoredConfig)
    : { env: {}, secrets: [], logLevel: 'info' as LogLevel };
  // Configs saved before explicit names were recorded: infer them against that install's manifest.
  const explicitEnv =
    stored.explicitEnv ??
    (row.manifest ? inferExplicitEnv(JSON.parse(row.manifest) as Manifest, stored.env) : undefined);
  return {
    env: stored.env,
    secrets: secrets.openJson(row.secrets_enc),
    logLevel: stored.logLevel,
    ...(explicitEnv ? { explicitEnv } : {}),
  };
}

/** Config and secrets of the serving install (what a dev reload carries over). */
export async function servingConfig(
  d: { store: InstallStore; secrets: SecretBox; plugins: PluginRepository },
  tenant: string,
  pluginId: string,
): Promise<OpenedConfig | undefined> {
  const plugin = await d.plugins.get(tenant, pluginId);
  const active = plugin && (await d.store.get(plugin.active_install_id));
  return active ? openConfig(d.secrets, active) : undefined;
}

/** The audit details of a submitted config: env values are not secret; secrets only by name. */
export function configAuditDetails(installId: string, resolved: ResolvedConfig): Record<string, unknown> {
  return {
    installId,
    env: resolved.env,
    secrets: Object.keys(resolved.secrets),
    logLevel: resolved.logLevel,
    missing: resolved.missing,
  };
}
