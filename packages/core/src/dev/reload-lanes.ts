/**
 * Reloads of one (tenant, plugin) run one at a time in a "lane"; while one runs, only the newest
 * waiting build is kept (an older waiting one is answered `superseded`): ten saves in a second
 * start at most two installs and never pile up processes. A job may keep its lane after it
 * answered (its grace watch runs on); a newer build cuts that watch short.
 */

interface Waiting {
  run: () => Promise<void>;
  supersede: () => void;
}

export interface Lane {
  busy: boolean;
  /** Set by a job that keeps the lane after answering (it calls ReloadLanes.done itself). */
  held?: boolean;
  waiting?: Waiting;
  /** Aborts the grace watch of the reload before: a newer build is about to replace it anyway. */
  cutGrace?: () => void;
  idle: Promise<void>;
  markIdle?: () => void;
}

export class ReloadLanes {
  readonly #lanes = new Map<string, Lane>();
  #closed = false;

  /**
   * Runs `job` when the lane is free. A job that is still waiting when a newer one arrives is
   * answered with `superseded()` instead of running.
   */
  run<T>(tenant: string, pluginId: string, job: (lane: Lane) => Promise<T>, superseded: () => T): Promise<T> {
    const k = laneKey(tenant, pluginId);
    let lane = this.#lanes.get(k);
    if (!lane) {
      lane = { busy: false, idle: Promise.resolve() };
      this.#lanes.set(k, lane);
    }
    const l = lane;
    return new Promise<T>((resolve, reject) => {
      const run = async () => {
        l.busy = true;
        l.held = false;
        l.idle = new Promise((r) => (l.markIdle = r));
        try {
          resolve(await job(l));
        } catch (error) {
          reject(error);
        } finally {
          if (!l.held) this.done(l);
        }
      };
      if (this.#closed) return resolve(superseded());
      if (!l.busy) return void run();
      l.waiting?.supersede();
      l.waiting = { run, supersede: () => resolve(superseded()) };
      l.cutGrace?.();
    });
  }

  /** Called when a job (including its grace watch) is completely done. */
  done(lane: Lane): void {
    const next = lane.waiting;
    lane.waiting = undefined;
    lane.cutGrace = undefined;
    lane.held = false;
    lane.busy = false;
    lane.markIdle?.();
    if (next && !this.#closed) void next.run();
    else if (next) next.supersede();
  }

  /** Drops the waiting build, cuts the grace watch and waits until the lane is idle (before an uninstall). */
  async drain(tenant: string, pluginId: string): Promise<void> {
    const lane = this.#lanes.get(laneKey(tenant, pluginId));
    if (!lane) return;
    lane.waiting?.supersede();
    lane.waiting = undefined;
    lane.cutGrace?.();
    await lane.idle;
  }

  /** Shutdown: every waiting build is superseded, every grace watch cut short. */
  close(): void {
    this.#closed = true;
    for (const lane of this.#lanes.values()) {
      lane.waiting?.supersede();
      lane.waiting = undefined;
      lane.cutGrace?.();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
}

function laneKey(tenant: string, pluginId: string): string {
  return `${tenant}\0${pluginId}`;
}
