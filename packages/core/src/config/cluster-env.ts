/**
 * The scaled deployment's settings, read by core-config.ts (the only reader of process.env). All unset ⇒ the embedded default (SQLite, in-process bus,
 * local disk). PX_DATABASE_URL alone moves the store to PostgreSQL; PX_NATS_URL adds the shared
 * bus, log stream, blob bucket and leases that let several nodes serve together.
 */
import { hostname } from 'node:os';
import { coreConfigError, intSetting } from './settings.ts';

export interface ClusterEnvInput {
  databaseUrl?: string;
  databaseSchema?: string;
  natsUrl?: string;
  natsPrefix?: string;
  nodeId?: string;
  advertiseUrl?: string;
  /** Cluster timing (lease TTL, reconcile period, drain); wins over the PX_* variables. */
  cluster?: ClusterTuning;
}

export interface ClusterTuning {
  /** Lease TTL (PX_LEASE_TTL_MS): how long a node cut off from NATS keeps its plugins (a killed node is found gone at once, node-liveness.ts). Default 3000. */
  leaseTtlMs?: number;
  /** How often each node looks for plugins without a home (PX_RECONCILE_MS). Default 500. */
  reconcileMs?: number;
  /** How long a replaced holder keeps serving after the new one is ready (PX_DRAIN_MS). Default 1500. */
  drainMs?: number;
}

export interface ClusterEnv {
  databaseUrl: string | undefined;
  databaseSchema: string;
  natsUrl: string | undefined;
  /** Prefix of every stream, bucket and subject core creates (several clusters can share one NATS). */
  natsPrefix: string;
  nodeId: string;
  /** Where other nodes reach this one (forwarded entry requests); default: the listen address. */
  advertiseUrl: string | undefined;
  /** PX_LEASE_TTL_MS, PX_RECONCILE_MS, PX_DRAIN_MS (cluster-services.ts has the defaults). */
  tuning: ClusterTuning;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function readClusterEnv(options: ClusterEnvInput, env: NodeJS.ProcessEnv): ClusterEnv {
  const databaseUrl = options.databaseUrl ?? (env.PX_DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw coreConfigError(
      'PX_DATABASE_URL',
      databaseUrl.replace(/\/\/[^@/]*@/, '//…@'),
      'must be a postgres:// URL',
      'Set PX_DATABASE_URL=postgres://user@host:5432/database, or unset it for the embedded SQLite store.',
    );
  const databaseSchema = options.databaseSchema ?? (env.PX_DATABASE_SCHEMA || 'public');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema))
    throw coreConfigError(
      'PX_DATABASE_SCHEMA',
      databaseSchema,
      'must be a lower-case SQL identifier',
      'Use letters, digits and "_" (default public).',
    );
  const natsUrl = options.natsUrl ?? (env.PX_NATS_URL || undefined);
  if (natsUrl !== undefined && !databaseUrl)
    throw coreConfigError(
      'PX_NATS_URL',
      natsUrl,
      'needs PX_DATABASE_URL: nodes sharing NATS must also share one PostgreSQL store',
      'Set PX_DATABASE_URL too, or unset PX_NATS_URL.',
    );
  const natsPrefix = options.natsPrefix ?? (env.PX_NATS_PREFIX || 'px');
  if (!NAME.test(natsPrefix))
    throw coreConfigError('PX_NATS_PREFIX', natsPrefix, 'must be 1–64 of A-Z a-z 0-9 _ -', 'Default px.');
  const nodeId =
    options.nodeId ??
    (env.PX_NODE_ID ||
      hostname()
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 64));
  if (!NAME.test(nodeId))
    throw coreConfigError(
      'PX_NODE_ID',
      nodeId,
      'must be 1–64 of A-Z a-z 0-9 _ -',
      'Give every node its own PX_NODE_ID.',
    );
  const advertiseUrl = options.advertiseUrl ?? (env.PX_ADVERTISE_URL || undefined);
  if (advertiseUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(advertiseUrl))
    throw coreConfigError(
      'PX_ADVERTISE_URL',
      advertiseUrl,
      'must be http(s)://host:port',
      'Set it to the address other nodes use to reach this one.',
    );
  return {
    databaseUrl,
    databaseSchema,
    natsUrl,
    natsPrefix,
    nodeId,
    advertiseUrl: advertiseUrl?.replace(/\/$/, ''),
    tuning: {
      leaseTtlMs: intSetting(
        'PX_LEASE_TTL_MS',
        env.PX_LEASE_TTL_MS,
        500,
        600_000,
        'Set PX_LEASE_TTL_MS to how long a node cut off from NATS keeps its plugins (default 3000).',
      ),
      reconcileMs: intSetting(
        'PX_RECONCILE_MS',
        env.PX_RECONCILE_MS,
        50,
        60_000,
        'Set PX_RECONCILE_MS to how often a node looks for plugins without a home (default 500).',
      ),
      drainMs: intSetting(
        'PX_DRAIN_MS',
        env.PX_DRAIN_MS,
        0,
        60_000,
        'Set PX_DRAIN_MS to how long a replaced node keeps serving (default 1500).',
      ),
      ...options.cluster,
    },
  };
}
