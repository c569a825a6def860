/**
 * The gate of the feature flag px-plugin-runtime-v2 (the OS-sandbox runtime) in front of the
 * supervisor. Off means core starts no plugin process at all: a start answers FEATURE_DISABLED,
 * so an install rolls back at its `starting` stage with that code and crash recovery counts the
 * serving plugins as failed to start. Stopping, listing and draining keep working.
 *
 * Off does not fall back to an older, weaker runtime: a feature flag must never lower the
 * isolation of plugin code. Weak isolation is a separate, explicit operator choice.
 */
import type { FeatureFlags } from './feature-flags.ts';
import type { PluginSupervisor } from '../install/supervisor-port.ts';

export function gateRuntime(supervisor: PluginSupervisor, flags: FeatureFlags): PluginSupervisor {
  return {
    start(spec, opts) {
      flags.require('px-plugin-runtime-v2', 'starting plugin processes');
      return supervisor.start(spec, opts);
    },
    runSeed(id) {
      // The seed hook fills generated test data: part of sandbox mode.
      flags.require('plugin-sandbox-mode', 'seeding test data');
      return supervisor.runSeed(id);
    },
    stop: (id, opts) => supervisor.stop(id, opts),
    get: (id) => supervisor.get(id),
    list: () => supervisor.list(),
    stopAll: (opts) => supervisor.stopAll(opts),
  };
}
