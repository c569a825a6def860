/**
 * Which nodes are there: each node writes its own key in the `<prefix>_nodes` KV bucket (same
 * TTL as leases) and renews it; a node that stops renewing drops out after one TTL. A killed
 * node is known gone long before that by its liveness subject (node-liveness.ts); this list is
 * who to ask, and the backstop. Unfinished installs of a gone node are rolled back by the
 * survivors (placement.ts `abandoned`).
 */
import type { KV } from '@nats-io/kv';

export interface NodeInfo {
  node: string;
  url: string;
  startedAt: string;
}

export class NodeRegistry {
  readonly #kv: KV;
  readonly #node: string;
  readonly #url: () => string;
  readonly #startedAt = new Date().toISOString();
  #timer: NodeJS.Timeout | undefined;

  constructor(kv: KV, self: { node: string; url: () => string }) {
    this.#kv = kv;
    this.#node = self.node;
    this.#url = self.url;
  }

  async start(renewMs: number): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat().catch(() => {}), renewMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#kv.delete(this.#node).catch(() => {});
  }

  async alive(): Promise<Map<string, NodeInfo>> {
    const out = new Map<string, NodeInfo>();
    for await (const key of await this.#kv.keys()) {
      const e = await this.#kv.get(key);
      if (e?.operation === 'PUT') out.set(key, e.json<NodeInfo>());
    }
    return out;
  }

  async #beat(): Promise<void> {
    const info: NodeInfo = { node: this.#node, url: this.#url(), startedAt: this.#startedAt };
    await this.#kv.put(this.#node, JSON.stringify(info));
  }
}
