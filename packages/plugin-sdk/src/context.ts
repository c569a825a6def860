import type { LogLevel } from '@powerx/protocol';

/** Structured logger; lines below the configured level are dropped in the plugin process. */
export interface PluginLogger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  readonly level: LogLevel;
}

export type StoredDocument = { id: string; [field: string]: unknown };

export interface FindOptions {
  /** Equality filter on top-level fields. */
  where?: Record<string, unknown>;
  limit?: number;
  offset?: number;
}

/** A tenant-scoped collection, persisted by core. Every call is an RPC checked against `permissions: [storage]`. */
export interface Collection {
  insert(doc: Record<string, unknown>): Promise<StoredDocument>;
  get(id: string): Promise<StoredDocument | undefined>;
  find(options?: FindOptions): Promise<StoredDocument[]>;
  update(id: string, patch: Record<string, unknown>): Promise<StoredDocument | undefined>;
  delete(id: string): Promise<boolean>;
  count(where?: Record<string, unknown>): Promise<number>;
}

export interface PluginStorage {
  collection(name: string): Collection;
}

export interface PluginEvents {
  /** Publish an event declared under `events.publish`. */
  publish(type: string, payload: unknown): Promise<void>;
  /** Receive events declared under `events.subscribe`. */
  subscribe(
    type: string,
    handler: (payload: unknown, meta: { type: string; ts: string }) => void | Promise<void>,
  ): void;
}

export interface PluginHttp {
  /** Outbound HTTP through core, only to hosts allowed by `http:<host>` permissions. */
  fetch(
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<Response>;
}

export interface PluginSecrets {
  /** A declared secret's value, or undefined when it is not set. Undeclared names throw SECRET_NOT_DECLARED. */
  get(name: string): string | undefined;
  has(name: string): boolean;
}

/** What every hook and handler receives. */
export interface PluginContext {
  readonly tenant: string;
  readonly plugin: { readonly id: string; readonly version: string };
  readonly instanceId: string;
  readonly log: PluginLogger;
  /** Declared env values after the wizard (defaults applied, typed). */
  readonly config: Readonly<Record<string, string | number | boolean>>;
  readonly secrets: PluginSecrets;
  readonly storage: PluginStorage;
  readonly events: PluginEvents;
  readonly http: PluginHttp;
}
