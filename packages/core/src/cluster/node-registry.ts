/**
 * Which nodes are alive: each node writes its own key in the `<prefix>_nodes` KV bucket (same
 * TTL as leases) and renews it; a node that stops renewing drops out after one TTL. Unfinished
 * installs of a node no longer listed are rolled back by the survivors.
 */
import type { KV } from '@nats-io/kv';

export interface NodeInfo {
  node: string;
  url: string;
  startedAt: string;
}

export class NodeRegistry {
  readonly #kv: KV;
  readonly #self: NodeInfo;
  #timer: NodeJS.Timeout | undefined;

  constructor(kv: KV, self: { node: string; url: string }) {
    this.#kv = kv;
    this.#self = { ...self, startedAt: new Date().toISOString() };
  }

  async start(renewMs: number): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat().catch(() => {}), renewMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#kv.delete(this.#self.node).catch(() => {});
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
    await this.#kv.put(this.#self.node, JSON.stringify(this.#self));
  }
}
