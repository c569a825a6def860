/**
 * Every event core publishes on the event bus, with what its payload says. Subscribers (the
 * Admin's live view, alerting, other services on NATS) match on these names: add, never rename.
 * Events plugins publish travel as `tenant.<tenant>.<event>` and are the plugins' own.
 */
export const BUS_EVENTS = {
  'plugin.install.sandbox_completed': 'an upload install is running: tenant, plugin, version, durationMs',
  'plugin.install.failed': 'an upload install was rolled back: code, stage, durationMs',
  'plugin.install.progress':
    'a stage change of an install, upgrade, dev reload, reconfigure, rollback or uninstall (InstallProgress, install-progress-schemas.ts)',
  'plugin.install.auto_rollback': 'the last stable version was restored after the serving one failed',
  'plugin.instance.failed': 'a serving instance failed: code, message, hint, what happens next',
  'plugin.dev.session.opened': 'a dev session was opened',
  'plugin.dev.session.ended': 'a dev session was ended',
  'plugin.dev.session.expired': 'a dev session expired without heartbeats',
  'plugin.dev.reload.started': 'a dev reload reached the install pipeline',
  'plugin.dev.reloaded': 'a dev reload is serving, with its timings',
  'plugin.dev.rollback': 'a dev reload failed (build, install or after the switch); what serves now',
  'plugin.dev.uninstalled': 'a dev plugin was uninstalled',
  'auth.token.revoked':
    'an API token was revoked: tokenId, userId (every node closes the /api/ws sockets opened with it)',
  'cluster.plugin.uninstalled':
    'a plugin was uninstalled on one node: the others drop their copy (tenant, pluginId, keepData, node)',
} as const satisfies Record<string, string>;

export type BusEventName = keyof typeof BUS_EVENTS;

/** An event a plugin published in its tenant. */
export type PluginEventName = `tenant.${string}`;

export function isBusEventName(name: string): name is BusEventName {
  return Object.hasOwn(BUS_EVENTS, name);
}
