/** Error codes of the runtime and of core: access, installs, host-side limits, the data folder. */
import { spec, type ErrorCodeSpec } from './error-code-spec.ts';

export const SERVER_ERROR_CODES = {
  // --- runtime ---
  ISOLATION_UNAVAILABLE: spec(
    503,
    'Plugins cannot be started: this host cannot build the plugin sandbox ({detail})',
    'Install the `bubblewrap` package (Debian/Ubuntu: `apt-get install bubblewrap`) and allow unprivileged user namespaces; only on a single-user machine, set PX_ALLOW_WEAK_ISOLATION=1 to run plugins without the OS sandbox.',
  ),
  START_FAILED: spec(
    500,
    'The plugin process failed to start: {detail}',
    'Run the plugin locally and check its start-up code and logs.',
  ),
  HEALTH_TIMEOUT: spec(
    503,
    'The plugin did not answer {path} within {timeoutMs} ms',
    'Make the health route answer 200 quickly, or raise runtime.health.timeoutMs.',
  ),
  FAILOVER_EXHAUSTED: spec(
    503,
    'The plugin did not start after its node was lost: {attempts} failover attempts failed (on {nodes})',
    'Read the plugin logs on those nodes: a health deadline missed on a loaded machine, or a version that cannot start. Fix the cause, then roll back, reconfigure or install the plugin again to start it.',
  ),
  CRASH_LOOP: spec(
    500,
    'The plugin crashed {count} times in {windowSec} s',
    'Read the plugin logs for the error thrown at start or on the failing request.',
  ),
  QUOTA_MEMORY: spec(
    507,
    'The plugin used {usedMb} MB of memory; its limit is {limitMb} MB',
    'Reduce memory use or raise resources.memoryMb (within the tenant quota).',
  ),
  QUOTA_CPU: spec(
    429,
    'The plugin used {percent}% CPU for too long; its limit is {limitPercent}%',
    'Look for busy loops; move heavy work out of request handlers or raise resources.cpuPercent.',
  ),
  QUOTA_DISK: spec(
    507,
    'The plugin data folder holds {used}; its limit is {limit}',
    'Delete data the plugin no longer needs or raise resources.diskMb (it also sets the file-count limit: 256 files per MB).',
  ),
  PERMISSION_DENIED: spec(
    403,
    'The plugin is not allowed to {action}',
    'Declare the permission in plugin.yaml (permissions, events, config) if the plugin really needs it.',
  ),
  SECRET_NOT_DECLARED: spec(
    403,
    'Secret "{name}" is not declared by the plugin',
    'Declare it under config.secrets in plugin.yaml.',
  ),
  RPC_MESSAGE_TOO_LARGE: spec(
    413,
    'An RPC message of {size} bytes exceeds the {limit}-byte cap',
    'Send less data per call; page through collections instead.',
  ),
  RPC_INVALID: spec(
    400,
    'Malformed RPC message: {detail}',
    'Use the plugin SDK instead of writing to the IPC channel directly.',
  ),
  INSTANCE_UNAVAILABLE: spec(
    503,
    'The plugin is {state}',
    'Wait for the plugin to become healthy, or check its status and logs.',
  ),
  // --- core: access ---
  AUTH_REQUIRED: spec(
    401,
    'This request needs an API token',
    'Pass "Authorization: Bearer <token>", or run `px-plugin login`.',
  ),
  AUTH_INVALID: spec(401, 'The token or password is not valid', 'Sign in again or create a new token.'),
  FORBIDDEN: spec(403, 'You may not {action}', 'Ask a platform admin for access.'),
  PERMISSION_MISSING: spec(
    403,
    'This needs the permission {permission}',
    'Ask a platform admin to grant you {permission}.',
  ),
  TENANT_NOT_FOUND: spec(
    404,
    'Tenant "{tenant}" does not exist',
    "Check the tenant id: `GET /api/tenants` (or the Admin's Tenants page) lists the tenants you belong to; sandbox-dev is created on the first start.",
  ),
  TENANT_NOT_SANDBOX: spec(
    403,
    'Tenant "{tenant}" is a production tenant',
    'Install into a sandbox tenant such as sandbox-dev; production installs go through release.',
  ),
  TENANT_NOT_MEMBER: spec(
    403,
    'You are not a member of tenant "{tenant}"',
    'Use a tenant you belong to, or ask its owner to add you.',
  ),
  // --- core: install ---
  DEPENDENCY_MISSING: spec(
    409,
    'The plugin requires {dependency} {range}, which is not installed in tenant {tenant}',
    'Install {dependency} first, or remove it from "requires".',
  ),
  DEPENDENCY_VERSION: spec(
    409,
    'The plugin requires {dependency} {range}; tenant {tenant} has {installed}',
    'Install a matching version of {dependency}, or widen the range in "requires".',
  ),
  PLUGIN_CONFLICT: spec(
    409,
    '{detail}',
    'Uninstall the conflicting plugin or remove the entry from "conflicts".',
  ),
  RUNTIME_KIND_NOT_ALLOWED: spec(
    403,
    'Tenant {tenant} does not allow runtime.kind "{kind}" plugins',
    'Bundle the backend as runtime.kind "node" (full sandbox), or ask an operator to set allowProcessPlugins for this tenant in sandbox_limits.yaml.',
  ),
  QUOTA_EXCEEDED: spec(
    429,
    'Tenant {tenant} would exceed its {quota} quota ({detail})',
    'Uninstall plugins you no longer need, lower resources in plugin.yaml, or ask for a higher limit.',
  ),
  UPLOAD_TOO_LARGE: spec(
    413,
    'The upload is larger than the {limit}-byte limit',
    'Make the package smaller; see the package size quota in sandbox_limits.yaml.',
  ),
  CONFIG_INVALID: spec(
    400,
    'Configuration value {name} is invalid: {detail}',
    'Enter a value of the declared type ({type}).',
  ),
  CONFIG_REQUIRED_MISSING: spec(
    400,
    'Required configuration is missing: {names}',
    'Provide the values in the install wizard, with --env / --secret, or a --config file.',
  ),
  INSTALL_IN_PROGRESS: spec(
    409,
    'Plugin {plugin} is already being installed in tenant {tenant} (install {installId})',
    'Wait for that install to finish (`px-plugin status --install {installId}`), then try again.',
  ),
  INSTALL_NOT_FOUND: spec(
    404,
    'Install {installId} does not exist',
    'List installs with `px-plugin status`.',
  ),
  INSTALL_CANCELLED: spec(
    409,
    'The install waiting for configuration was cancelled: {reason}',
    'Start a new install with all required values (--env / --secret / --config).',
  ),
  INSTALL_INTERRUPTED: spec(
    500,
    'The install was interrupted by a core restart during {stage}',
    'Run the install again; nothing of the interrupted one was kept.',
  ),
  PLUGIN_NOT_FOUND: spec(
    404,
    'Plugin {plugin} is not installed in tenant {tenant}',
    'List installed plugins with `px-plugin list --tenant {tenant}`.',
  ),
  NO_STABLE_VERSION: spec(
    409,
    'Plugin {plugin} has no earlier stable version to roll back to',
    'Install a fixed version instead.',
  ),
  TEST_DATA_LIMIT: spec(
    400,
    'The sandbox.testData of the plugin cannot be generated: {detail}',
    "Bound the testData schemas (maxItems on arrays, maxLength on strings) and the counts, so that the records fit the plugin's resources.storageMb.",
  ),
  SEED_FAILED: spec(
    500,
    'Seeding test data failed: {detail}',
    'Check the seed hook and the sandbox.testData schemas in plugin.yaml.',
  ),
  DEV_MODE_DISABLED: spec(
    404,
    'Dev mode is off on this core',
    'Start core with PX_PLUGIN_DEV_MODE=1, or set devMode: true in config/plugins/dev_policy.yaml and send core SIGHUP, to use dev endpoints.',
  ),
  DEV_SESSION_CONFLICT: spec(
    409,
    'Plugin {plugin} in tenant {tenant} already has a dev session held by {holder}',
    'Stop that session (Ctrl-C in its terminal) or wait for it to expire.',
  ),
  PATH_NOT_ALLOWED: spec(
    403,
    'Core may not read {path}',
    'Use a folder under one of the allowed dev roots (PX_DEV_ROOTS), or upload the build instead.',
  ),
  DEV_SESSION_NOT_FOUND: spec(
    404,
    'Dev session {session} does not exist or has expired',
    'Start `px-plugin dev` again; it opens a new session.',
  ),
  DEV_PATH_LINK_OUT: spec(
    400,
    '{path} is a symbolic link that does not lead to a file inside the project',
    'Copy the file into the project instead of linking to it; core copies only what is inside the project.',
  ),
  DEV_BUILD_NOT_FOUND: spec(
    400,
    'No plugin build found in {path}: {detail}',
    'Point at a plugin project (plugin.yaml + dist/) or its build output (manifest.json + dist/); run `px-plugin build` or `px-plugin dev` first.',
  ),
  DEV_BUILD_TOO_LARGE: spec(
    400,
    'The build is larger than {limit} bytes ({path} takes it past)',
    'Keep large assets out of dist/ and the folders the manifest points at (a package may unpack to {limit} bytes); load them from storage at run time.',
  ),
  DEV_RELOAD_SUPERSEDED: spec(
    409,
    'This reload was replaced by a newer one before it started',
    'Nothing to do: the newest build is the one being installed.',
  ),
  DEV_CRASHED_AFTER_SWITCH: spec(
    500,
    'Version {version} crashed {afterMs} ms after it started serving: {detail}',
    'The last stable version serves again. Fix the crash (see the plugin logs) and save again.',
  ),
  CORE_CONFIG_INVALID: spec(
    500,
    'Core configuration {name} is invalid: {detail}',
    'Set {name} to a valid value: {fix}',
  ),
  CORE_UNREACHABLE: spec(
    503,
    'Cannot reach PowerX core at {url}: {detail}',
    'Is core running (`npm start`)? Check the URL: set PX_API_URL or run `px-plugin login --url <core url>`.',
  ),
  LIMITS_CONFIG_INVALID: spec(
    500,
    'config/plugins/sandbox_limits.yaml is invalid: {detail}',
    'Fix the named field; see the comments in the shipped file.',
  ),
  DEV_POLICY_INVALID: spec(
    500,
    'The dev policy {file} is invalid: {detail}',
    'Fix the named field; every field is described in the shipped config/plugins/dev_policy.yaml and docs/dev-mode.md.',
  ),
  DEV_ACCESS_DENIED: spec(
    403,
    'The dev policy does not let you dev-install into tenant {tenant}: {reason}',
    'Ask the platform operator: dev_policy.yaml access (permission, roles, tenants) decides who may dev-install where. GET /api/plugins/dev/policy shows it.',
  ),
  DEV_UNSIGNED_NOT_ALLOWED: spec(
    403,
    'Tenant {tenant} does not accept unsigned dev builds',
    'Install a signed package instead (px-plugin build, px-plugin install), or ask the operator to allow unsigned dev builds for this tenant (dev_policy.yaml unsignedDevBuilds).',
  ),
  DEV_SESSION_LIMIT: spec(
    429,
    'You already hold {count} dev sessions; the dev policy allows {limit} per user',
    'End a session you no longer need (Ctrl-C its px-plugin dev) or wait for it to expire; GET /api/plugins/dev/policy shows the limit.',
  ),
  FEATURE_DISABLED: spec(
    404,
    'Feature {flag} is turned off on this core: {what} is not available',
    'An operator turns it on by removing "{flag}=off" from PX_FEATURE_FLAGS (or the startCore flags option); GET /api/version lists the flags.',
  ),
  PRODUCTION_QUOTA_MISMATCH: spec(
    422,
    'fits sandbox, would not fit {production}: {detail}',
    "Lower the plugin's needs ({detail}) or ask the operator to align the quotas in sandbox_limits.yaml before releasing it to {production}.",
  ),
  VERSION_INCOMPATIBLE: spec(
    426,
    '{cli} (protocol {cliProtocol}) and {core} (protocol {coreProtocol}) cannot work together: {reason}',
    'Upgrade {side}: {how}',
  ),
  // --- host-side limits: outbound HTTP, plugin storage, tenants, entry points, audit key ---
  OUTBOUND_ADDRESS_BLOCKED: spec(
    403,
    'Outbound HTTP to {host} refused: it resolves to {address} ({reason})',
    'Plugins may only reach public internet addresses. A platform operator can open a network for one tenant with outboundAllowNetworks in config/plugins/sandbox_limits.yaml.',
  ),
  OUTBOUND_BODY_TOO_LARGE: spec(
    502,
    'The upstream response body is larger than {limit} bytes; the connection was cut',
    'Ask the upstream for less (paging, ranges), or fetch it outside the plugin.',
  ),
  OUTBOUND_HEADERS_TOO_LARGE: spec(
    502,
    'The upstream response headers are larger than {limit} bytes',
    'The upstream sends unusually large headers; check the URL or the upstream.',
  ),
  OUTBOUND_TIMEOUT: spec(
    504,
    'The upstream did not answer completely within {ms} ms',
    'Check that the upstream is reachable and fast; retry later.',
  ),
  OUTBOUND_FAILED: spec(
    502,
    'Outbound HTTP to {host} failed: {detail}',
    'Check the URL and that the upstream is up.',
  ),
  QUOTA_STORAGE: spec(
    507,
    'The plugin storage of {plugin} would hold {usedBytes} bytes; its limit is {limitBytes} bytes',
    'Delete documents the plugin no longer needs, or raise resources.storageMb (within the tenant maximum maxStorageMb).',
  ),
  STORAGE_DOC_TOO_LARGE: spec(
    413,
    'A document of {size} bytes is larger than the {limit}-byte cap',
    'Store large data in several documents.',
  ),
  TENANT_LIMIT_REACHED: spec(
    403,
    'User {user} already created {count} tenants; the limit is {limit}',
    'Delete a tenant you no longer need, or ask a platform operator to raise maxTenantsPerUser.',
  ),
  ENTRY_PLUGIN_NOT_FOUND: spec(
    404,
    'No plugin {plugin} serves in tenant {tenant}',
    'Check the tenant and plugin id in the URL; list plugins with `px-plugin list --tenant {tenant}`.',
  ),
  // --- data folder safety ---
  DISK_FULL: spec(
    507,
    'No space left on the disk holding {path} while {operation}',
    'Free space on that disk (or move the data folder to a larger one: docs/operations.md, "Moving the data folder"), then retry; nothing of this operation was kept.',
  ),
  PORT_IN_USE: spec(
    500,
    'Port {port} on {host} is already in use',
    'Stop the process listening there (`ss -ltnp | grep :{port}` shows it), or start core on another port with PX_PORT.',
  ),
  DATABASE_CORRUPT: spec(
    500,
    'The database {file} is damaged: {detail}',
    'Stop core and restore the data folder from a backup (docs/operations.md, "Restore"); keep the damaged folder aside for analysis. Nothing was changed in it.',
  ),
  BACKUP_FAILED: spec(
    500,
    'The backup could not be completed: {detail}',
    'Check free space and permissions of the data folder, then run `px-plugin backup` again; no partial archive was kept.',
  ),
  NOT_FOUND: spec(404, '{what} not found', 'Check the URL or id.'),
  BAD_REQUEST: spec(400, '{detail}', 'Check the request against the OpenAPI document at /docs.'),
  INTERNAL: spec(
    500,
    'Internal error (reference {ref})',
    'This is a bug in PowerX; report it with the reference.',
  ),
} as const satisfies Record<string, ErrorCodeSpec>;
