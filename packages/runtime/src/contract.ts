/**
 * The runtime's interface to core. Core's install pipeline depends only on these types; the
 * runtime package implements them. Keep this file the single definition.
 */
import type { Manifest, ErrorCode, LogLevel } from '@powerx/protocol';

export type InstanceState = 'starting' | 'health_check' | 'ready' | 'stopping' | 'stopped' | 'failed';

/** What isolation an instance actually got (reported, never assumed). */
export interface IsolationReport {
  /** `bubblewrap`: the OS sandbox. Any other level is weak isolation, chosen explicitly by the operator. */
  level: 'bubblewrap' | 'node-permission' | 'netns' | 'none';
  /** True when the instance runs without the OS sandbox (the weak-isolation opt-in). */
  weak?: boolean;
  /** Namespaces of its own: user, mount, pid, network, ipc, uts, cgroup. */
  namespaces?: string[];
  /** Host uid and gid the plugin process runs as (never 0 in the sandbox). */
  uid?: number;
  gid?: number;
  /** Its uid inside its user namespace. */
  uidInside?: number;
  /** A seccomp filter refuses the system calls no plugin needs. */
  seccomp?: boolean;
  /** Kernel limits: the instance's cgroup, when the host has a writable hierarchy. */
  cgroup?: { version: 1 | 2; dirs: string[]; memoryBytes: number; cpuQuotaUs: number; pidsMax: number };
  /** How the disk quota holds: an ext4 image of diskMb on a loop device, or sampling of the folder. */
  disk?: { mechanism: 'ext4-loop' | 'sampled'; limitMb: number; maxFiles: number };
  permissionModel: boolean;
  networkNamespace: boolean;
  /** The plugin runs in its own PID namespace: it cannot see or signal other processes. */
  pidNamespace?: boolean;
  prlimit: boolean;
  notes: string[];
}

export interface StartSpec {
  tenant: string;
  pluginId: string;
  version: string;
  /** Read-only folder holding the unpacked package (manifest.json, dist/, admin/). */
  versionDir: string;
  /** The only folder the plugin may write to; survives restarts and upgrades. */
  dataDir: string;
  manifest: Manifest;
  /** Declared env values, typed, defaults applied. */
  config: Record<string, string | number | boolean>;
  /** Declared secret values (never logged). */
  secrets: Record<string, string>;
  logLevel: LogLevel;
}

export interface InstanceFailure {
  code: ErrorCode;
  message: string;
  hint: string;
}

export interface ResourceUsage {
  /** VmRSS, including the Node binary's file pages shared by all instances (~45 MB). */
  rssMb: number;
  /** Resident memory the instance alone owns (RssAnon + RssShmem); resources.memoryMb limits this. Added by the runtime. */
  privateMb?: number;
  cpuPercent: number;
  diskMb: number;
  /** Files and folders in the data folder (its inodes in use, on an ext4 image). */
  diskFiles?: number;
}

export interface InstanceInfo {
  id: string;
  tenant: string;
  pluginId: string;
  version: string;
  pid: number | undefined;
  state: InstanceState;
  socketPath: string;
  isolation: IsolationReport;
  startedAt: string;
  restarts: number;
  failure?: InstanceFailure;
  usage: ResourceUsage;
  /** Log lines dropped by the per-instance rate limit so far (added by the runtime). */
  logsDropped?: number;
}

/** One structured log line of a plugin instance. */
export interface PluginLogLine {
  ts: string;
  tenant: string;
  plugin: string;
  version: string;
  instance: string;
  level: LogLevel;
  msg: string;
  fields?: Record<string, unknown>;
  /** stdout, stderr, sdk (ctx.log) or runtime (supervisor messages about the instance). */
  source: 'stdout' | 'stderr' | 'sdk' | 'runtime';
}

export interface LogSink {
  write(line: PluginLogLine): void;
}

/** Core-side services the plugin reaches over RPC. The runtime checks permissions before calling. */
export interface HostServices {
  storage: {
    insert(
      tenant: string,
      pluginId: string,
      collection: string,
      doc: Record<string, unknown>,
    ): Promise<{ id: string; [k: string]: unknown }>;
    get(
      tenant: string,
      pluginId: string,
      collection: string,
      id: string,
    ): Promise<{ id: string; [k: string]: unknown } | undefined>;
    find(
      tenant: string,
      pluginId: string,
      collection: string,
      opts: { where?: Record<string, unknown>; limit?: number; offset?: number },
    ): Promise<Array<{ id: string; [k: string]: unknown }>>;
    update(
      tenant: string,
      pluginId: string,
      collection: string,
      id: string,
      patch: Record<string, unknown>,
    ): Promise<{ id: string; [k: string]: unknown } | undefined>;
    delete(tenant: string, pluginId: string, collection: string, id: string): Promise<boolean>;
    count(
      tenant: string,
      pluginId: string,
      collection: string,
      where?: Record<string, unknown>,
    ): Promise<number>;
  };
  events: {
    publish(tenant: string, pluginId: string, type: string, payload: unknown): Promise<void>;
    /** Returns an unsubscribe function. */
    subscribe(
      tenant: string,
      type: string,
      handler: (payload: unknown, meta: { type: string; ts: string }) => void,
    ): () => void;
  };
  /** Outbound HTTP on behalf of a plugin; the runtime has already checked the host allow-list. */
  fetch(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string },
    /** Whose call it is: core applies that tenant's outbound network policy. */
    scope: { tenant: string; pluginId: string },
  ): Promise<{ status: number; headers: Record<string, string>; body: string }>;
}

export type SupervisorEvent =
  | { type: 'instance.state'; instance: InstanceInfo }
  | { type: 'instance.failed'; instance: InstanceInfo; failure: InstanceFailure }
  | { type: 'instance.usage'; instance: InstanceInfo };
