/**
 * Core's feature flags: real switches, on by default, read once at start from the startCore
 * `flags` option or PX_FEATURE_FLAGS ("plugin-dev-logs=off,plugin-sandbox-mode=on"). An unknown
 * name or value stops core with CORE_CONFIG_INVALID, so a typo never leaves a feature on that the
 * operator meant to turn off. What each flag gates answers FEATURE_DISABLED (with the hint to
 * turn it on) while it is off; GET /api/version lists them.
 */
import {
  FEATURE_FLAGS,
  FEATURE_FLAG_NAMES,
  PxError,
  type FeatureFlag,
  type FeatureFlagState,
} from '@powerx/protocol';
import { coreConfigError } from './settings.ts';

export type FeatureFlagSettings = Partial<Record<FeatureFlag, boolean>>;

const ON = new Set(['on', '1', 'true']);
const OFF = new Set(['off', '0', 'false']);

function isFlag(name: string): name is FeatureFlag {
  return (FEATURE_FLAG_NAMES as string[]).includes(name);
}

export function parseFeatureFlagsEnv(raw: string | undefined): FeatureFlagSettings {
  const out: FeatureFlagSettings = {};
  const fix = `Write name=on|off pairs separated by commas; names: ${FEATURE_FLAG_NAMES.join(', ')}.`;
  for (const item of (raw ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [name, value = 'on', ...rest] = item.split('=').map((x) => x.trim());
    if (!isFlag(name) || rest.length || !(ON.has(value) || OFF.has(value)))
      throw coreConfigError('PX_FEATURE_FLAGS', raw, `cannot read "${item}"`, fix);
    out[name] = ON.has(value);
  }
  return out;
}

export class FeatureFlags {
  readonly #on: Record<FeatureFlag, boolean>;

  constructor(settings: FeatureFlagSettings = {}) {
    for (const name of Object.keys(settings))
      if (!isFlag(name))
        throw coreConfigError(
          'flags',
          name,
          'is not a feature flag',
          `Use one of ${FEATURE_FLAG_NAMES.join(', ')}.`,
        );
    this.#on = Object.fromEntries(FEATURE_FLAG_NAMES.map((f) => [f, settings[f] ?? true])) as Record<
      FeatureFlag,
      boolean
    >;
  }

  /** The option wins over PX_FEATURE_FLAGS, flag by flag. */
  static read(option: FeatureFlagSettings | undefined, fromEnv: string | undefined): FeatureFlags {
    return new FeatureFlags({ ...parseFeatureFlagsEnv(fromEnv), ...option });
  }

  enabled(flag: FeatureFlag): boolean {
    return this.#on[flag];
  }

  /** Throws FEATURE_DISABLED naming the flag and what the caller asked for. */
  require(flag: FeatureFlag, what: string): void {
    if (!this.#on[flag]) throw new PxError('FEATURE_DISABLED', { flag, what });
  }

  list(): FeatureFlagState[] {
    return FEATURE_FLAG_NAMES.map((name) => ({ name, enabled: this.#on[name], gates: FEATURE_FLAGS[name] }));
  }
}
