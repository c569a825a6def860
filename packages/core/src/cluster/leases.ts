/**
 * Leases in the `<prefix>_leases` KV bucket. The bucket's max_age is the lease TTL: a lease its
 * holder stops renewing (kill -9, lost network) is gone after at most one TTL and another node may
 * take it. Every write is a compare-and-set on the key's revision, so two nodes never both
 * believe they hold a lease: the loser's next renewal fails and it is told (`onLost`).
 *
 * A lease's value says where its holder is reached and how far it is: `starting` (taken, the
 * instance not ready yet; `prevUrl` still serves), `ready`, `handover` (holder is shutting down
 * and wants someone to take over).
 *
 * The TTL is the backstop, not the usual way a dead holder is noticed: other nodes ask the holder
 * itself (node-liveness.ts) and `replace` the lease of one that is gone, compare-and-set on the
 * revision they read before asking. A holder that cannot renew for a whole TTL (cut off from
 * NATS) must assume another node took over: the lease is reported lost (`expired`).
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { KeyedMutex } from '../install/keyed-mutex.ts';

export type LeaseState = 'starting' | 'ready' | 'handover';

export interface LeaseValue {
  node: string;
  url: string;
  state: LeaseState;
  /** While `starting`: the previous holder, which keeps serving until this one is ready. */
  prevUrl?: string;
  since: string;
}

/** KV keys allow [-/_=.A-Za-z0-9]; ids are encoded so any tenant or plugin id fits. */
export function leaseKey(kind: string, ...parts: string[]): string {
  return [kind, ...parts.map((p) => Buffer.from(p, 'utf8').toString('base64url'))].join('.');
}

export interface LeaseTableOptions {
  nodeId: string;
  /** This node's advertised URL (known once it listens). */
  url: () => string;
  /** Renewal period; well under the bucket's TTL. */
  renewMs: number;
  /** The bucket's TTL: a held lease not renewed for this long is reported lost (`expired`). */
  ttlMs?: number;
  /** `expired`: not renewed for a TTL (this node is cut off from NATS); nobody can say who holds it. */
  onLost?: (key: string, now: LeaseValue | undefined, expired: boolean) => void;
  onChange?: (key: string, value: LeaseValue | undefined) => void;
}

export class LeaseTable {
  readonly #kv: KV;
  readonly #o: LeaseTableOptions;
  /** Last value seen per key (the watch keeps it current; expiries are not announced, see lookup). */
  readonly #known = new Map<string, { value: LeaseValue; revision: number }>();
  /** Keys this node holds → the revision of its last write and when it was made (performance.now()). */
  readonly #held = new Map<string, { value: LeaseValue; revision: number; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #watch: { stop(): void } | undefined;
  #renewing = false;
  /** Writes of one key (renewal, state change, take-over) one at a time: each needs the last revision. */
  readonly #writes = new KeyedMutex();

  constructor(kv: KV, options: LeaseTableOptions) {
    this.#kv = kv;
    this.#o = options;
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  async start(): Promise<void> {
    const watch = await this.#kv.watch({ key: '>' });
    this.#watch = watch;
    void (async () => {
      for await (const e of watch) this.#seen(e);
    })().catch(() => {});
    this.#timer = setInterval(() => void this.#renewAll(), this.#o.renewMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#watch?.stop();
  }

  /** The cached holder (fresh from the watch); `refresh` asks the server. */
  lookup(key: string): LeaseValue | undefined {
    return this.#known.get(key)?.value;
  }

  async refresh(key: string): Promise<LeaseValue | undefined> {
    const e = await this.#kv.get(key);
    if (!e || e.operation !== 'PUT') {
      this.#known.delete(key);
      return undefined;
    }
    this.#seen(e);
    return this.#known.get(key)?.value;
  }

  /** The lease as the server has it now, with the revision a `replace` must name. */
  async read(key: string): Promise<{ value: LeaseValue; revision: number } | undefined> {
    const e = await this.#kv.get(key);
    if (!e || e.operation !== 'PUT') {
      this.#known.delete(key);
      return undefined;
    }
    this.#seen(e);
    // The watch may be ahead of this read: the newer revision is the one to compare-and-set on.
    const known = this.#known.get(key);
    return known ? { value: known.value, revision: known.revision } : undefined;
  }

  /**
   * Takes the lease if it is still at `revision` (read before its holder was found gone); false
   * when anything wrote it meanwhile — the holder renewed (it was not gone) or another node won.
   */
  replace(key: string, revision: number, state: LeaseState, prevUrl?: string): Promise<boolean> {
    return this.#writes.run(key, async () => {
      const value = this.#value(state, prevUrl);
      try {
        this.#mine(key, value, await this.#kv.update(key, JSON.stringify(value), revision));
        return true;
      } catch {
        return false;
      }
    });
  }

  holds(key: string): boolean {
    return this.#held.has(key);
  }

  heldKeys(): string[] {
    return [...this.#held.keys()];
  }

  /** Takes a free lease; false when someone (not us) holds it. */
  acquire(key: string, state: LeaseState, prevUrl?: string): Promise<boolean> {
    return this.#writes.run(key, () => this.#acquire(key, state, prevUrl));
  }

  async #acquire(key: string, state: LeaseState, prevUrl?: string): Promise<boolean> {
    const value = this.#value(state, prevUrl);
    try {
      const revision = await this.#kv.create(key, JSON.stringify(value));
      this.#mine(key, value, revision);
      return true;
    } catch {
      const current = await this.refresh(key);
      if (current?.node === this.#o.nodeId && !this.#held.has(key)) {
        // Ours from before a restart of this node under the same id: take it back.
        return this.#steal(key, state, prevUrl);
      }
      return !!current && current.node === this.#o.nodeId && this.#held.has(key);
    }
  }

  /** Takes the lease whoever holds it (compare-and-set on what we read); false if it changed meanwhile. */
  steal(key: string, state: LeaseState, prevUrl?: string): Promise<boolean> {
    return this.#writes.run(key, () => this.#steal(key, state, prevUrl));
  }

  async #steal(key: string, state: LeaseState, prevUrl?: string): Promise<boolean> {
    const e = await this.#kv.get(key);
    const value = this.#value(state, prevUrl);
    try {
      const revision =
        e && e.operation === 'PUT'
          ? await this.#kv.update(key, JSON.stringify(value), e.revision)
          : await this.#kv.create(key, JSON.stringify(value));
      this.#mine(key, value, revision);
      return true;
    } catch {
      return false;
    }
  }

  /** Changes the state of a lease we hold; false if we lost it. */
  set(key: string, state: LeaseState, prevUrl?: string): Promise<boolean> {
    return this.#writes.run(key, async () => {
      const held = this.#held.get(key);
      if (!held) return false;
      const value = this.#value(state, prevUrl);
      try {
        const revision = await this.#kv.update(key, JSON.stringify(value), held.revision);
        this.#mine(key, value, revision);
        return true;
      } catch {
        const current = await this.refresh(key).catch(() => undefined);
        if (current?.node === this.#o.nodeId) return this.#steal(key, state, prevUrl);
        this.#lost(key);
        return false;
      }
    });
  }

  /**
   * Hands a lease we took back to its previous holder's value (a handover whose start failed
   * here: the draining node keeps serving and waits for another taker). False if it was not ours.
   */
  giveBack(key: string, previous: LeaseValue): Promise<boolean> {
    return this.#writes.run(key, async () => {
      const held = this.#held.get(key);
      this.#held.delete(key);
      if (!held) return false;
      try {
        const revision = await this.#kv.update(key, JSON.stringify(previous), held.revision);
        this.#known.set(key, { value: previous, revision });
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Gives a lease up (only if still ours). */
  release(key: string): Promise<void> {
    return this.#writes.run(key, async () => {
      const held = this.#held.get(key);
      this.#held.delete(key);
      if (!held) return;
      await this.#kv.delete(key, { previousSeq: held.revision }).catch(() => {});
    });
  }

  /** Removes a lease whoever holds it (the plugin is gone). */
  async remove(key: string): Promise<void> {
    this.#held.delete(key);
    this.#known.delete(key);
    await this.#kv.delete(key).catch(() => {});
  }

  #value(state: LeaseState, prevUrl?: string): LeaseValue {
    return {
      node: this.#o.nodeId,
      url: this.#o.url(),
      state,
      ...(prevUrl ? { prevUrl } : {}),
      since: new Date().toISOString(),
    };
  }

  #mine(key: string, value: LeaseValue, revision: number): void {
    this.#held.set(key, { value, revision, at: performance.now() });
    this.#known.set(key, { value, revision });
  }

  #seen(e: KvEntry): void {
    const prior = this.#known.get(e.key);
    if (prior && prior.revision > e.revision) return;
    if (e.operation !== 'PUT') {
      this.#known.delete(e.key);
      if (this.#held.get(e.key)?.revision !== undefined && this.#held.get(e.key)!.revision < e.revision)
        this.#lost(e.key);
      this.#o.onChange?.(e.key, undefined);
      return;
    }
    let value: LeaseValue;
    try {
      value = e.json<LeaseValue>();
    } catch {
      return;
    }
    this.#known.set(e.key, { value, revision: e.revision });
    const held = this.#held.get(e.key);
    if (held && held.revision < e.revision && value.node !== this.#o.nodeId) this.#lost(e.key);
    this.#o.onChange?.(e.key, value);
  }

  #lost(key: string, expired = false): void {
    if (!this.#held.delete(key)) return;
    this.#o.onLost?.(key, expired ? undefined : this.#known.get(key)?.value, expired);
  }

  async #renewAll(): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    try {
      for (const key of [...this.#held.keys()])
        await this.#writes.run(key, () => this.#renew(key)).catch(() => {});
    } finally {
      this.#renewing = false;
    }
  }

  async #renew(key: string): Promise<void> {
    const held = this.#held.get(key);
    if (!held) return;
    try {
      const revision = await this.#kv.update(key, JSON.stringify(held.value), held.revision);
      this.#held.set(key, { value: held.value, revision, at: performance.now() });
      return;
    } catch {
      // A conflict (someone else wrote it) or NATS out of reach: told apart below.
    }
    let current: LeaseValue | undefined;
    try {
      current = await this.refresh(key);
    } catch {
      // NATS out of reach. Past one TTL the server may have let the lease go and another node
      // taken the plugin: stop counting on it.
      if (this.#o.ttlMs !== undefined && performance.now() - held.at >= this.#o.ttlMs) this.#lost(key, true);
      return;
    }
    // Expired while we were stalled and nobody took it: take it again.
    if (!current && (await this.#acquire(key, held.value.state, held.value.prevUrl))) return;
    if (current?.node === this.#o.nodeId && (await this.#steal(key, held.value.state, held.value.prevUrl)))
      return;
    this.#lost(key);
  }
}
