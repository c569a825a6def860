/**
 * Which nodes are there: each node writes its own key in the `<prefix>_nodes` KV bucket (same
 * TTL as leases) and renews it every quarter TTL; every node watches the bucket and counts a node
 * listed while its last renewal is less than one TTL old (expiries are not announced to watchers,
 * and listing the bucket's keys can stall for seconds on a bucket whose keys expire). A killed
 * node is known gone long before that by its liveness subject (node-liveness.ts); this list is
 * who to ask, and the backstop. Unfinished installs of a gone node are rolled back by the
 * survivors (placement.ts `abandoned`).
 */
import type { KV, KvEntry } from '@nats-io/kv';

export interface NodeInfo {
  node: string;
  url: string;
  startedAt: string;
}

export class NodeRegistry {
  readonly #kv: KV;
  readonly #node: string;
  readonly #url: () => string;
  readonly #ttlMs: number;
  readonly #startedAt = new Date().toISOString();
  /** Per node: what it wrote last and when this node saw it (performance.now()). */
  readonly #seen = new Map<string, { info: NodeInfo; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #watch: { stop(): void } | undefined;

  constructor(kv: KV, self: { node: string; url: () => string }, ttlMs: number) {
    this.#kv = kv;
    this.#node = self.node;
    this.#url = self.url;
    this.#ttlMs = ttlMs;
  }

  async start(renewMs: number): Promise<void> {
    const watch = await this.#kv.watch({ key: '>' });
    this.#watch = watch;
    void (async () => {
      for await (const e of watch) this.#saw(e);
    })().catch(() => {});
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat().catch(() => {}), renewMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#watch?.stop();
    await this.#kv.delete(this.#node).catch(() => {});
  }

  /** Nodes whose heartbeat this node saw within one TTL (itself included once it beat). */
  alive(): Map<string, NodeInfo> {
    const out = new Map<string, NodeInfo>();
    const now = performance.now();
    for (const [node, { info, at }] of this.#seen) if (now - at < this.#ttlMs) out.set(node, info);
    return out;
  }

  #saw(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      this.#seen.delete(e.key);
      return;
    }
    try {
      this.#seen.set(e.key, { info: e.json<NodeInfo>(), at: performance.now() });
    } catch {
      // not a heartbeat of ours
    }
  }

  async #beat(): Promise<void> {
    const info: NodeInfo = { node: this.#node, url: this.#url(), startedAt: this.#startedAt };
    await this.#kv.put(this.#node, JSON.stringify(info));
  }
}
