/**
 * The channel `plugin.install.progress` of `/api/ws`: fans the bus event of the same name out to
 * the sockets subscribed to its tenant (or to one install). The bus is the only source, so in a
 * cluster an install made through node A reaches a socket on node C through NATS.
 *
 * A subscription starts with a snapshot (the installs in flight in the tenant, or the one install
 * asked for in whatever state): live events are held while the snapshot is read, then sent unless
 * the snapshot already covers them; after that, nothing older than what a subscriber already got
 * for an install is sent (by `seq`), so a late subscriber misses nothing and sees each install's
 * stages once, in order.
 */
import type { InstallProgress } from '@powerx/protocol';
import { NotFoundError, PROGRESS_CHANNEL, type WsServerFrame } from '@powerx/protocol';
import type { EventBus } from '../events/event-bus.ts';
import type { Db } from '../storage/schema.ts';
import { TERMINAL_STATES } from './install-store.ts';
import { progressOf, type ProgressDeps } from './install-progress.ts';

/** How many in-flight installs a snapshot lists at most (a tenant rarely has more than a few). */
const SNAPSHOT_MAX = 200;

export interface ProgressSink {
  /** false: the socket is too far behind (the caller drops it). */
  send(frame: WsServerFrame): boolean;
  drop(reason: string): void;
}

interface Subscriber {
  tenant: string;
  installId?: string;
  sink: ProgressSink;
  /** Events that arrived while the snapshot was read; null once live. */
  held: InstallProgress[] | null;
  /** Per install, the last seq this subscriber got: nothing older or repeated is sent. */
  sentSeq: Map<string, number>;
}

/** Installs remembered per subscriber for ordering (a socket outliving this many forgets the oldest). */
const SENT_SEQ_MAX = 10_000;

export class ProgressHub {
  readonly #d: ProgressDeps & { db: Db };
  readonly #byTenant = new Map<string, Set<Subscriber>>();
  readonly #unsubscribeBus: () => void;

  constructor(d: ProgressDeps & { db: Db; bus: EventBus }) {
    this.#d = d;
    this.#unsubscribeBus = d.bus.subscribe('plugin.install.progress', (event) =>
      this.#deliver(event.payload as InstallProgress),
    );
  }

  /** Sends the snapshot frame, then live progress frames until the returned function is called. */
  async subscribe(tenant: string, installId: string | undefined, sink: ProgressSink): Promise<() => void> {
    const sub: Subscriber = {
      tenant,
      ...(installId ? { installId } : {}),
      sink,
      held: [],
      sentSeq: new Map(),
    };
    let set = this.#byTenant.get(tenant);
    if (!set) this.#byTenant.set(tenant, (set = new Set()));
    set.add(sub);
    const unsubscribe = () => {
      set.delete(sub);
      if (set.size === 0 && this.#byTenant.get(tenant) === set) this.#byTenant.delete(tenant);
    };
    try {
      const installs = await this.#snapshot(tenant, installId);
      for (const p of installs) sub.sentSeq.set(p.installId, p.seq);
      const held = sub.held!;
      sub.held = null;
      if (
        !sink.send({
          type: 'progress_snapshot',
          channel: PROGRESS_CHANNEL,
          tenant,
          ...(installId ? { installId } : {}),
          installs,
        })
      )
        sink.drop('slow consumer: the progress snapshot did not fit');
      for (const progress of held) this.#send(sub, progress);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  close(): void {
    this.#unsubscribeBus();
    this.#byTenant.clear();
  }

  async #snapshot(tenant: string, installId: string | undefined): Promise<InstallProgress[]> {
    if (installId) {
      const row = await this.#d.store.get(installId);
      if (!row || row.tenant_id !== tenant) throw new NotFoundError('INSTALL_NOT_FOUND', { installId });
      return [await progressOf(this.#d, row)];
    }
    const rows = await this.#d.db
      .selectFrom('installs')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('state', 'not in', [...TERMINAL_STATES])
      .orderBy('created_at')
      .limit(SNAPSHOT_MAX)
      .execute();
    return Promise.all(rows.map((row) => progressOf(this.#d, row)));
  }

  #deliver(progress: InstallProgress): void {
    for (const sub of this.#byTenant.get(progress.tenant) ?? []) {
      if (sub.installId && sub.installId !== progress.installId) continue;
      if (sub.held) sub.held.push(progress);
      else this.#send(sub, progress);
    }
  }

  #send(sub: Subscriber, progress: InstallProgress): void {
    // Events of one install are published in order, but the snapshot (or a held event) may already
    // have covered this one.
    if (progress.seq <= (sub.sentSeq.get(progress.installId) ?? 0)) return;
    sub.sentSeq.delete(progress.installId);
    sub.sentSeq.set(progress.installId, progress.seq);
    if (sub.sentSeq.size > SENT_SEQ_MAX) sub.sentSeq.delete(sub.sentSeq.keys().next().value!);
    if (!sub.sink.send({ type: 'progress', channel: PROGRESS_CHANNEL, tenant: sub.tenant, progress }))
      sub.sink.drop('slow consumer: install progress');
  }
}
