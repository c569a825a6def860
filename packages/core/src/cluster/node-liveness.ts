/**
 * Is a node still there? Each node answers pings on its own subject
 * (`<prefix>.node.<id>.alive`) over its NATS connection. When a node dies (kill -9, crash, OOM),
 * the kernel closes its TCP connection, the NATS server drops its subscriptions at once, and a
 * request to its subject comes back "no responders" (status 503) right away — no lease TTL to
 * wait for. That answer is the only one read as `gone`: a timeout or a broken connection of our
 * own is `unknown`, and the lease TTL stays the judge (a partition, a host that vanished without
 * closing its sockets: the NATS server notices those only by its own ping timeout).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { NatsNames } from './nats-names.ts';

export type Liveness = 'alive' | 'gone' | 'unknown';

export interface NodeLivenessOptions {
  /** How long a ping may take before the answer is `unknown`. */
  timeoutMs?: number;
  /** Probes of one node within this window share one request. */
  cacheMs?: number;
}

export class NodeLiveness {
  readonly #nc: NatsConnection;
  readonly #names: NatsNames;
  readonly #nodeId: string;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  #sub: Subscription | undefined;
  /** Per node: the probe in flight or answered within cacheMs. */
  readonly #recent = new Map<string, { at: number; answer: Promise<Liveness> }>();
  /** Per node: since when every probe said `gone` (reset by any other answer). */
  readonly #goneSince = new Map<string, number>();

  constructor(nc: NatsConnection, names: NatsNames, nodeId: string, options: NodeLivenessOptions = {}) {
    this.#nc = nc;
    this.#names = names;
    this.#nodeId = nodeId;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#cacheMs = options.cacheMs ?? 100;
  }

  /** Answers pings for this node; resolves once the server has the subscription. */
  async serve(): Promise<void> {
    if (this.#sub) return;
    this.#sub = this.#nc.subscribe(this.#names.nodeAliveSubject(this.#nodeId), {
      callback: (_error, msg) => {
        msg.respond(this.#nodeId);
      },
    });
    await this.#nc.flush();
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }

  /** Asks the node itself: `gone` only on the server's "no responders". */
  probe(nodeId: string): Promise<Liveness> {
    if (nodeId === this.#nodeId) return Promise.resolve(this.#sub ? 'alive' : 'unknown');
    const recent = this.#recent.get(nodeId);
    if (recent && performance.now() - recent.at < this.#cacheMs) return recent.answer;
    const answer = this.#ask(nodeId);
    this.#recent.set(nodeId, { at: performance.now(), answer });
    void answer.then(() => this.#recent.set(nodeId, { at: performance.now(), answer }));
    return answer;
  }

  /** `gone` for at least `ms` (several probes agreeing): for decisions that are costly when wrong. */
  async goneFor(nodeId: string, ms: number): Promise<boolean> {
    if ((await this.probe(nodeId)) !== 'gone') return false;
    return performance.now() - (this.#goneSince.get(nodeId) ?? Infinity) >= ms;
  }

  async #ask(nodeId: string): Promise<Liveness> {
    let answer: Liveness;
    try {
      await this.#nc.request(this.#names.nodeAliveSubject(nodeId), undefined, { timeout: this.#timeoutMs });
      answer = 'alive';
    } catch (error) {
      answer = isNoResponders(error) ? 'gone' : 'unknown';
    }
    if (answer === 'gone') {
      if (!this.#goneSince.has(nodeId)) this.#goneSince.set(nodeId, performance.now());
    } else if (answer === 'alive') this.#goneSince.delete(nodeId);
    return answer;
  }
}

function isNoResponders(error: unknown): boolean {
  const e = error as { isNoResponders?: () => boolean; name?: string; cause?: { name?: string } };
  if (typeof e?.isNoResponders === 'function') return e.isNoResponders();
  return e?.name === 'NoRespondersError' || e?.cause?.name === 'NoRespondersError';
}
