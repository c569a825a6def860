/**
 * Every action core writes to the audit log, with what it records. Audit entries are a public
 * contract (the Admin filters on them, operators query them): add, never rename. Outcomes are
 * `ok`, `failed`, `denied` or `started`; secret values never appear in details, only names.
 */
export const AUDIT_ACTIONS = {
  // --- identity and tenants ---
  'auth.login': 'a user logged in with a password',
  'auth.token.create': 'an API token was created',
  'auth.token.revoke': 'an API token was revoked',
  'user.create': 'a user was created',
  'tenant.create': 'a tenant was created',
  'tenant.member.add': 'a user was added to a tenant',
  'keys.register': 'a developer signing key was registered',
  'keys.remove': 'a developer signing key was removed',
  // --- operations ---
  'core.backup': 'a backup of the data folder was taken',
  'dev.policy.reload': 'the dev policy file was re-read (SIGHUP), with dev mode before and after',
  // --- the audit log itself ---
  'audit.details.cleared': 'retention cleared the details of the entries it names (ranges of seq)',
  'audit.key.adopted': 'a log written without the audit key was chained under it (names its last entry)',
  // --- packages and the install wizard ---
  'plugin.package.upload': 'a package upload was received (or refused)',
  'plugin.package.validate': 'the checks of a package ran: install or dry run, with the failed codes',
  'plugin.package.unsigned_accepted': 'an unsigned package was accepted, and why',
  'plugin.config.submit': 'wizard values were submitted (env values, secret names)',
  // --- installs, reconfigure, rollback (each walks the install stages) ---
  'plugin.install.stage': 'an install entered a stage',
  'plugin.install.provisioned': 'version and data folders of an install are ready',
  'plugin.install.completed': 'an install is running',
  'plugin.install.rolled_back': 'an install failed and was rolled back',
  'plugin.install.auto_rollback': 'core restored the last stable version after the serving one failed',
  'plugin.reconfigure': 'a reconfigure was started',
  'plugin.reconfigure.stage': 'a reconfigure entered a stage',
  'plugin.reconfigure.completed': 'a reconfigure is running',
  'plugin.reconfigure.rolled_back': 'a reconfigure failed and was rolled back',
  'plugin.rollback': 'a rollback to the last stable version was started',
  'plugin.rollback.stage': 'a rollback entered a stage',
  'plugin.rollback.completed': 'a rollback is running',
  'plugin.rollback.rolled_back': 'a rollback failed and was rolled back',
  'plugin.uninstall': 'a plugin was uninstalled',
  // --- serving instances and logs ---
  'plugin.instance.start': 'a plugin did not start at core start',
  'plugin.recovery.fallback':
    'the active version did not start at core start; the last stable one serves and is recorded active',
  'plugin.instance.failed': 'a serving instance failed (crash loop, quota)',
  'plugin.failed':
    'no version of a plugin could be started (at core start, or on any node after its node was lost): it is failed',
  'plugin.logs.read': "a plugin's logs were read",
  // --- dev mode ---
  'plugin.dev.install': 'a dev install was requested (or refused)',
  'plugin.dev.reload': 'a dev reload is serving',
  'plugin.dev.rollback': 'a dev reload failed and was rolled back',
  'plugin.dev.uninstall': 'a dev plugin was uninstalled',
  'plugin.dev.session.open': 'a dev session was opened',
  'plugin.dev.session.end': 'a dev session was ended',
  'plugin.dev.session.expired': 'a dev session expired without heartbeats',
} as const satisfies Record<string, string>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export function isAuditAction(name: string): name is AuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, name);
}
